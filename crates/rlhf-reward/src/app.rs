//! rlhf-reward on the kit's shared command line: how `train` (every stage), `eval`,
//! `predict` and `synth` build and use this app's task.

use crate::config::{Config, Stage};
use crate::data::{self, Pair};
use crate::eval::{self, PolicyEval};
use crate::synth;
use crate::train::{self, RlhfTask, Trained};
use anyhow::Context;
use kit::app::{App, Info, NoExtra, Opened, Purpose};
use std::path::{Path, PathBuf};

pub struct RlhfReward;

/// The app's name, as its runs record it in `meta.json`.
pub const NAME: &str = "rlhf-reward";

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |x| format!("{x:.digits$}"))
}

fn policy_row(name: &str, e: &PolicyEval) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} |",
        opt(e.gold_reward, 3),
        opt(e.proxy_reward, 3),
        opt(e.kl, 2),
        opt(e.kl_bound, 2),
        opt(e.win_rate_vs_sft, 3),
        opt(e.exact, 3)
    )
}

/// The prompt a policy `predict` input stands for: the text itself, or after a `prompt:`
/// prefix the rest verbatim. Something that looks like a file (a slash, or a `.jsonl` /
/// `.json` / `.txt` ending) is refused: a missing file was silently sampled as a prompt.
fn prompt_of(input: &Path, text: &str) -> anyhow::Result<String> {
    if let Some(literal) = text.strip_prefix("prompt:") {
        return Ok(literal.to_string());
    }
    let ext = input.extension().and_then(|e| e.to_str()).unwrap_or("");
    let looks_like_path = text.contains('/') || ["jsonl", "json", "txt"].contains(&ext);
    if input.exists() || looks_like_path {
        anyhow::bail!(
            "{text}: a policy run samples prompts given on the command line, not files{}; to \
             sample this text as a prompt, write it as `prompt:{text}`",
            if input.exists() {
                ""
            } else {
                " (and there is no such file)"
            }
        );
    }
    Ok(text.to_string())
}

impl App for RlhfReward {
    const NAME: &'static str = NAME;
    const ABOUT: &'static str =
        "RLHF at CPU scale: SFT, a Bradley–Terry reward model, and DPO / RLOO under a KL leash";
    const INFO: Info = Info {
        loss: "SFT → Bradley–Terry → RLOO + KL",
        demo_metric: "gold_reward",
        demo_floor: kit::app::Floor::AtLeast(0.65),
        demo_chance: "-1.0 (untrained: no digits)",
        demo_before: &[
            ("quick-sft", "data.sft_run"),
            ("quick-reward", "policy.reward_run"),
        ],
        bench_set: &["data.test_prompts=16"],
        bench_steps_scale: 10,
    };
    type Config = Config;
    type Task = RlhfTask;
    type Extra = NoExtra;

    fn train_task(cfg: &Config, device: tch::Device) -> anyhow::Result<RlhfTask> {
        let (examples, test) = train::sources(cfg, device).context("building the stage's data")?;
        anyhow::ensure!(
            !examples.is_empty(),
            "no training examples for stage {:?} (data.prompts = {}, data.source = {})",
            cfg.stage,
            cfg.data.prompts,
            cfg.data.source
        );
        RlhfTask::new(cfg, device, examples, test)
    }

    fn inference_task(
        cfg: &Config,
        _meta: &serde_json::Value,
        device: tch::Device,
        purpose: Purpose,
    ) -> anyhow::Result<RlhfTask> {
        let test = purpose
            .held_out(
                |dir, split| crate::sources::folder_eval(dir, split, cfg),
                || crate::sources::test_set(cfg, device),
                || Ok(crate::sources::sources(cfg, device)?.1),
            )?
            .unwrap_or_default();
        RlhfTask::new(cfg, device, Vec::new(), test)
    }

    fn eval(o: &mut Opened<Self>) -> anyhow::Result<serde_json::Value> {
        let t = &o.task;
        match (&t.model, o.config.stage) {
            (Trained::Reward(_), _) => {
                let e = t.reward_eval()?;
                println!("| test pairs | accuracy | Bayes ceiling | gold reward's own accuracy | ECE | Spearman with gold |");
                println!("|---|---|---|---|---|---|");
                println!(
                    "| {} | {:.3} | {} | {} | {:.3} | {} |",
                    e.pairs,
                    e.accuracy,
                    opt(e.bayes_ceiling, 3),
                    opt(e.gold_label_accuracy, 3),
                    e.ece,
                    opt(e.spearman_gold, 3)
                );
                if e.bayes_ceiling.is_some() {
                    println!("(labels are Bradley–Terry draws on the gold reward at temperature {}: no model can beat the Bayes ceiling on average)", o.config.data.label_temperature);
                }
                Ok(serde_json::to_value(e)?)
            }
            (Trained::Policy(lm), stage) => {
                let e = t.policy_eval()?;
                println!("| policy | gold reward | proxy reward | KL to SFT (nats, estimated) | KL upper bound | win rate vs SFT (gold) | exact |");
                println!("|---|---|---|---|---|---|---|");
                let name = if stage == Stage::Sft {
                    "SFT"
                } else {
                    "this run"
                };
                println!("{}", policy_row(name, &e));
                let mut bon = serde_json::Map::new();
                if let (Stage::Sft, Some(judge)) = (stage, &t.judge) {
                    for &n in &o.config.eval.best_of {
                        let b = eval::best_of_n(
                            lm,
                            &judge.model,
                            &t.test.prompts,
                            n,
                            &o.config,
                            o.device,
                        )?;
                        println!(
                            "{}",
                            policy_row(
                                &format!("best-of-{n} (SFT samples, reward model picks)"),
                                &b
                            )
                        );
                        bon.insert(format!("best_of_{n}"), serde_json::to_value(&b)?);
                    }
                }
                println!(
                    "({} test prompts, one sample each at temperature {}; KL = mean log π(y) − \
                     log π_SFT(y) over y ~ π (shown at temperature 1 only); best-of-n KL: \
                     log π_bon(y) − log π(y) with π_bon(y) = (F + π(y))ⁿ − Fⁿ, F = π(reward < \
                     r(y)) from {} fresh samples per prompt; the bound log n − (n−1)/n assumes \
                     n distinct samples)",
                    e.prompts,
                    o.config.policy.temperature,
                    eval::BON_KL_SAMPLES
                );
                println!("\n{}", e.samples_markdown(6));
                if let Some(img) = eval::curve_picture(&o.run.root)? {
                    let path = o.run.file("overoptimisation.png");
                    img.save(&path)?;
                    println!(
                        "gold and proxy reward against KL over training: {}",
                        path.display()
                    );
                }
                let mut v = serde_json::to_value(&e)?;
                v["best_of_n"] = serde_json::Value::Object(bon);
                Ok(v)
            }
        }
    }

    fn predict(o: &Opened<Self>, inputs: &[PathBuf], _out: &Path) -> anyhow::Result<()> {
        let (cfg, dev) = (&o.config, o.device);
        for input in inputs {
            let text = input.to_string_lossy().to_string();
            match &o.task.model {
                Trained::Reward(rm) => {
                    let pairs = crate::sources::read_pairs(input, cfg.data.max_len)
                        .context("a reward-model run scores pairs: pass a .jsonl file of {prompt, chosen, rejected}")?;
                    let refs: Vec<&Pair> = pairs.iter().collect();
                    let (c, r) = data::pair_texts(&refs);
                    let (rc, rr) = (
                        rm.score_texts(&c, cfg.data.max_len, dev),
                        rm.score_texts(&r, cfg.data.max_len, dev),
                    );
                    for ((p, a), b) in pairs.iter().zip(&rc).zip(&rr) {
                        println!(
                            "{:?}: chosen {a:.3}, rejected {b:.3}, P(chosen ≻ rejected) = {:.3}",
                            p.prompt,
                            1.0 / (1.0 + (b - a).exp())
                        );
                    }
                }
                Trained::Policy(lm) => {
                    let text = prompt_of(input, &text)?;
                    let resp = lm.sample(
                        std::slice::from_ref(&text),
                        4,
                        cfg.data.max_len,
                        cfg.policy.max_new,
                        cfg.policy.temperature,
                        dev,
                    );
                    let texts: Vec<(&str, &str)> =
                        resp.iter().map(|r| (text.as_str(), r.as_str())).collect();
                    let proxy = o
                        .task
                        .judge
                        .as_ref()
                        .map(|j| j.model.score_texts(&texts, cfg.data.max_len, dev));
                    println!("prompt {text:?}:");
                    for (i, r) in resp.iter().enumerate() {
                        let gold = synth::gold_reward(&text, r)
                            .map_or(String::new(), |g| format!("  gold {g:.2}"));
                        let px = proxy
                            .as_ref()
                            .map_or(String::new(), |p| format!("  proxy {:.3}", p[i]));
                        println!("  {r:?}{px}{gold}");
                    }
                }
            }
        }
        Ok(())
    }

    fn synth(cfg: &Config, out: &Path, n: Option<usize>, seed: u64) -> anyhow::Result<String> {
        let n = n.unwrap_or(cfg.data.prompts);
        let n_test = (n / 4).max(2);
        let dev = tch::Device::Cpu;
        let (vs, ts) = (kit::data::val_seed(seed), kit::data::test_seed(seed));
        use kit::data::Part;
        let tp = train::toy_prompts(cfg, n, seed, Part::Train)?;
        let vp = train::toy_prompts(cfg, n_test, vs, Part::Val)?;
        let sp = train::toy_prompts(cfg, n_test, ts, Part::Test)?;
        let sft = if cfg.data.sft_run.is_empty() {
            None
        } else {
            Some(train::load_policy(&cfg.data.sft_run, cfg, dev)?)
        };
        let pairs = |prompts: &[String], s: u64| match &sft {
            None => train::demo_pairs(prompts, cfg, s),
            Some(m) => train::toy_pairs(&m.model, prompts, cfg, s, dev),
        };
        let from = if sft.is_none() {
            "the demonstrator".to_string()
        } else {
            cfg.data.sft_run.clone()
        };
        let (train, val, test) = (pairs(&tp, seed), pairs(&vp, vs), pairs(&sp, ts));
        crate::pairs::write_jsonl(&out.join("train.jsonl"), &train)?;
        crate::pairs::write_jsonl(&out.join("val.jsonl"), &val)?;
        crate::pairs::write_jsonl(&out.join("test.jsonl"), &test)?;
        Ok(format!(
            "wrote {} training, {} validation and {} test pairs (responses from {from}, labels Bradley–Terry on the gold reward at t = {}) to {}",
            train.len(),
            val.len(),
            test.len(),
            cfg.data.label_temperature,
            out.display()
        ))
    }
}
