//! face-or-not: face / no-face classification (HW2P2). The commands come from `kit::cli`
//! (+ `sweep`).

fn main() -> std::process::ExitCode {
    sweep::main::<face_or_not::app::FaceOrNot>()
}
