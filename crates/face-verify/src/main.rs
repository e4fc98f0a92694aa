//! face-verify: train face embeddings with ArcFace on known identities, then verify pairs of
//! people never seen in training by cosine similarity. The commands come from `kit::cli`.

fn main() -> std::process::ExitCode {
    kit::cli::run::<face_verify::app::FaceVerify>()
}
