//! style-transfer on the kit's shared command line: `train` (the feed-forward stylizer),
//! `eval`, `predict`, `synth`, and its own `optimize` (Gatys et al.'s per-picture method).

use crate::config::Config;
use crate::data::{self, Scenes, Source};
use crate::eval::{independent_scores, ms_per_image, network_name, print_table, scores};
use crate::train::StyleTask;
use anyhow::Context;
use kit::app::{App, Info, Opened, Purpose};
use kit::data::Either;
use std::path::{Path, PathBuf};

pub const NAME: &str = "style-transfer";

pub struct StyleTransfer;

/// style-transfer's own subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Extra {
    /// Optimise one picture's pixels for content + style (Gatys et al. 2016) into a new folder
    /// under runs/style-transfer/.
    Optimize {
        /// YAML config (its features, loss weights, style and `optimize:` section).
        #[arg(long, short)]
        config: PathBuf,
        /// Override any config key (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// The content picture (default: built-in test scene 0).
        #[arg(long)]
        content: Option<PathBuf>,
        /// auto | cpu | cuda | cuda:N
        #[arg(long)]
        device: Option<kit::device::DeviceSpec>,
        /// Folder name (default: `optimize-<content>-<UTC time>`).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "runs")]
        runs: PathBuf,
    },
}

fn no_content() -> Source {
    Either::Builtin(Scenes {
        seed: 0,
        len: 0,
        size: 0,
    })
}

impl App for StyleTransfer {
    const NAME: &'static str = NAME;
    const ABOUT: &'static str =
        "Style transfer with perceptual and Gram-matrix style losses: per-picture optimisation and a feed-forward stylizer";
    const INFO: Info = Info {
        loss: "perceptual + Gram style",
        demo_metric: "style_ratio",
        demo_floor: kit::app::Floor::AtMost(0.3),
        demo_chance: "1.0 (the content picture unchanged)",
        demo_before: &[],
        bench_set: &[],
        bench_steps_scale: 1,
    };
    type Config = Config;
    type Task = StyleTask;
    type Extra = Extra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<StyleTask> {
        let (train, val) = data::sources(cfg).context("loading the content pictures")?;
        let val = data::all(&val)?;
        StyleTask::new(cfg, device, train, val, true)
    }

    fn inference_task(
        cfg: &Config,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<StyleTask> {
        match purpose {
            Purpose::Eval { data, split } => {
                let held_out = data::all(&data::test_source(cfg, data, split)?)?;
                StyleTask::new(cfg, device, no_content(), held_out, true)
            }
            Purpose::Predict => StyleTask::new(cfg, device, no_content(), Vec::new(), false),
        }
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let (x, y) = o.task.stylise_held_out()?;
        let (training, _) = o.task.objective()?;
        let trained_in = scores(training, &x, &y)?;
        let mut rows = independent_scores(&o.config, o.device, o.config.data.size, &x, &y)?;
        let ms = ms_per_image(&x, |b| o.task.net.forward(b));
        let independent = rows.len();
        rows.push((
            format!("{}: trained against", network_name(&o.config.features)),
            trained_in,
        ));
        print_table(&rows, x.size()[0], x.size()[2], ms);
        let row = |(name, s): &(String, crate::eval::Scores)| serde_json::json!({"network": name, "scores": s});
        Ok(serde_json::json!({
            "pictures": x.size()[0],
            "independent": rows[..independent].iter().map(row).collect::<Vec<_>>(),
            "trained_against": row(&rows[independent]),
            "ms_per_picture": ms,
        }))
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(!inputs.is_empty(), "name one or more pictures to stylise");
        for input in inputs {
            let (path, ms) = crate::predict::stylise_file(&o.task.net, o.device, input, out)?;
            println!("{} -> {} ({ms:.1} ms)", input.display(), path.display());
        }
        let ms = crate::predict::ms_per_256(&o.task.net, o.device);
        println!(
            "{ms:.1} ms per 256×256 picture (one forward pass, batch 1, {:?})",
            o.device
        );
        Ok(())
    }

    fn synth(cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let d = &cfg.data;
        let size = d.size as u32;
        let splits = [
            ("train", seed, n.unwrap_or(d.train_size)),
            ("val", kit::data::val_seed(seed), n.unwrap_or(d.val_size)),
            ("test", kit::data::test_seed(seed), n.unwrap_or(d.test_size)),
        ];
        for (split, s, count) in splits {
            let dir = out.join(split);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for i in 0..count {
                let img = crate::synth::scene(size, s, i as u64);
                kit::images::save(
                    &image::DynamicImage::ImageRgb8(img),
                    &dir.join(format!("scene-{i:04}.png")),
                )?;
            }
        }
        let style = out.join("style.png");
        kit::images::save(
            &image::DynamicImage::ImageRgb8(crate::synth::painting(
                size,
                crate::synth::PAINTING_SEED,
            )),
            &style,
        )?;
        Ok(format!(
            "wrote {} train / {} val / {} test scenes and the painting {} under {}",
            splits[0].2,
            splits[1].2,
            splits[2].2,
            style.display(),
            out.display()
        ))
    }

    fn extra(cmd: Extra) -> anyhow::Result<()> {
        match cmd {
            Extra::Optimize {
                config,
                set,
                content,
                device,
                name,
                runs,
            } => {
                let cfg: Config = kit::app::resolve(&config, &set, device)?;
                let dev = cfg.train.device.resolve()?;
                kit::device::seed_torch(cfg.train.seed);
                let (img, stem) = match &content {
                    Some(p) => {
                        let img = data::read_rgb(p)?;
                        // The same floor as `predict`: a smaller picture is no content.
                        anyhow::ensure!(
                            img.width() >= 8 && img.height() >= 8,
                            "{}: {}×{} pixels is too small to stylise (at least 8×8)",
                            p.display(),
                            img.width(),
                            img.height()
                        );
                        let stem = p
                            .file_stem()
                            .map_or("content".into(), |s| s.to_string_lossy().to_string());
                        (img, stem)
                    }
                    None => (
                        crate::synth::scene(
                            cfg.optimize.size as u32,
                            kit::data::test_seed(cfg.train.seed),
                            0,
                        ),
                        "scene".to_string(),
                    ),
                };
                let r = crate::optimize::optimize(&cfg, &img, &stem, &runs, name.as_deref(), dev)?;
                println!(
                    "objective {:.4e} -> {:.4e} (style {:.4e} -> {:.4e}) in {} steps; folder {}",
                    r.first[1],
                    r.last[1],
                    r.first[3],
                    r.last[3],
                    r.last[0],
                    r.folder.display()
                );
                Ok(())
            }
        }
    }
}
