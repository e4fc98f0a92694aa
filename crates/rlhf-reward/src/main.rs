//! rlhf-reward: SFT, a Bradley–Terry reward model, and a policy aligned to it (DPO or RLOO)
//! under a KL leash. The commands come from `kit::cli`.

fn main() -> std::process::ExitCode {
    kit::cli::run::<rlhf_reward::app::RlhfReward>()
}
