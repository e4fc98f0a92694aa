//! face-verify: train face embeddings with ArcFace on known identities, then verify pairs of
//! people never seen in training by cosine similarity. The commands come from `kit::cli` (+ `sweep`).

fn main() -> std::process::ExitCode {
    sweep::main::<face_verify::app::FaceVerify>()
}
