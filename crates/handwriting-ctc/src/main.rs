//! handwriting-ctc: read handwritten strings without per-frame labels (CNN + BiGRU + CTC).
//! The commands come from `kit::cli`.

fn main() -> std::process::ExitCode {
    kit::cli::run::<handwriting_ctc::app::HandwritingCtc>()
}
