//! `just new-app NAME --loss LOSS`: a working app crate to start a homework from.

use clap::Parser;

/// Write a new app crate (and its configs) from the template, registered in the workspace.
#[derive(Parser)]
#[command(name = "new-app")]
struct Args {
    /// The app's name: lower-case letters, digits and dashes (crates/<NAME>, configs/<NAME>).
    name: String,
    /// The loss its synthetic problem trains with: focal | dice | ctc | arcface | chamfer | kl | bt.
    #[arg(long)]
    loss: String,
    /// The workspace root.
    #[arg(long, default_value = ".")]
    root: std::path::PathBuf,
}

fn main() -> std::process::ExitCode {
    let a = Args::parse();
    match new_app::generate(&a.root, &a.name, &a.loss) {
        Ok(files) => {
            let problem = new_app::LOSSES
                .iter()
                .find(|l| l.0 == a.loss)
                .map_or("", |l| l.1);
            println!("wrote {} files for {} ({problem}):", files.len(), a.name);
            for f in &files {
                println!("  {}", f.display());
            }
            println!(
                "added crates/{0} to the workspace members. Next:\n  cargo test -p {0}\n  just train {0}\n  \
                 edit crates/{0}/src/problem.rs (data, loss, metric) and crates/{0}/README.md",
                a.name
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
