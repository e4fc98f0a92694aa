//! segment-dice: train a U-Net to segment small tumours with Dice (+CE), and see why pixel
//! accuracy misleads under extreme class imbalance. The commands come from `kit::cli` (+ `sweep`).

fn main() -> std::process::ExitCode {
    sweep::main::<segment_dice::app::SegmentDice>()
}
