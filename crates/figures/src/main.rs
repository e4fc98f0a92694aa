//! `just figures`: writes the lecture's loss figures to docs/figures/*.png (or `--out DIR`).

use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    kit::cli::main(|| {
        let mut args = std::env::args().skip(1);
        let out = match (args.next().as_deref(), args.next()) {
            (Some("--out"), Some(dir)) => PathBuf::from(dir),
            (None, _) => PathBuf::from("docs/figures"),
            _ => anyhow::bail!("usage: figures [--out DIR]"),
        };
        std::fs::create_dir_all(&out)?;
        for f in figures::all()? {
            let path = out.join(format!("{}.png", f.name));
            kit::images::save(&image::DynamicImage::ImageRgb8(f.image), &path)?;
            println!("{}: {}", path.display(), f.caption);
        }
        Ok(())
    })
}
