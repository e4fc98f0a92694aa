//! segment-dice: train a U-Net to segment small tumours with Dice (+CE), and see why pixel
//! accuracy misleads under extreme class imbalance. The commands come from `kit::cli`.

fn main() -> std::process::ExitCode {
    kit::cli::run::<segment_dice::app::SegmentDice>()
}
