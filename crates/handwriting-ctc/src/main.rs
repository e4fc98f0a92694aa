//! handwriting-ctc: read handwritten strings without per-frame labels (CNN + BiGRU + CTC).
//! The commands come from `kit::cli` (+ `sweep`).

fn main() -> std::process::ExitCode {
    sweep::main::<handwriting_ctc::app::HandwritingCtc>()
}
