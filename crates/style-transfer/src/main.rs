//! style-transfer: content + Gram-matrix style losses, per-picture optimisation and a
//! feed-forward stylizer. The commands come from `kit::cli` (+ `sweep`).

fn main() -> std::process::ExitCode {
    sweep::main::<style_transfer::app::StyleTransfer>()
}
