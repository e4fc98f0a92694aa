//! rlhf-reward: SFT, a Bradley–Terry reward model, and a policy aligned to it (DPO or RLOO)
//! under a KL leash. The commands come from `kit::cli` (+ `sweep`).

fn main() -> std::process::ExitCode {
    sweep::main::<rlhf_reward::app::RlhfReward>()
}
