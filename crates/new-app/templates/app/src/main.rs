//! __NAME__: a small model trained with __LOSS__ on a synthetic problem (src/problem.rs).
//! The commands come from `kit::cli` (+ `sweep`).

fn main() -> std::process::ExitCode {
    sweep::main::<__CRATE__::app::__TYPE__>()
}
