//! mix-match: one backbone trained on detection (focal), segmentation (Dice) and generation
//! (ELBO) at once — the lecture's final project. The commands come from `kit::cli` (+ `sweep`).

fn main() -> std::process::ExitCode {
    sweep::main::<mix_match::app::MixMatch>()
}
