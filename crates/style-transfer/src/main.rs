//! style-transfer: content + Gram-matrix style losses, per-picture optimisation and a
//! feed-forward stylizer. The commands come from `kit::cli`.

fn main() -> std::process::ExitCode {
    kit::cli::run::<style_transfer::app::StyleTransfer>()
}
