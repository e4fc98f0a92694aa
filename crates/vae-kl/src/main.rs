//! vae-kl: a VAE on the ELBO; see what the KL term does to the latent space. The commands come
//! from `kit::cli`.

fn main() -> std::process::ExitCode {
    sweep::main::<vae_kl::app::VaeKl>()
}
