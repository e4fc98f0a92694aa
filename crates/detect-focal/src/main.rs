//! detect-focal: train a RetinaNet-style detector with sigmoid focal loss, evaluate it with
//! COCO AP, draw its boxes, and sweep γ as in the focal-loss paper's Table 1. The commands
//! come from `kit::cli`.

fn main() -> std::process::ExitCode {
    sweep::main::<detect_focal::app::DetectFocal>()
}
