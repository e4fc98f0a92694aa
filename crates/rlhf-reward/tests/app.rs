//! rlhf-reward: the losses through the app's batching (padding must not leak), a sequence
//! log-probability and a KL estimate against hand values, JSONL errors, and the whole chain
//! (sft → reward model → DPO and RL → eval, predict, synth) on the smoke config.

use rlhf_reward::data::{self, tokens};
use rlhf_reward::eval::kl_estimate;
use rlhf_reward::model::{Lm, RewardModel};
use rlhf_reward::pairs::read_jsonl;
use std::path::Path;
use tch::{nn, Device, Tensor};

const BIN: &str = env!("CARGO_BIN_EXE_rlhf-reward");

fn smoke() -> rlhf_reward::config::Config {
    kit::testing::load_config("rlhf-reward", "smoke")
}

#[test]
fn padding_does_not_leak_into_rewards_or_log_probabilities_and_the_losses_match_by_hand() {
    tch::manual_seed(3);
    let cfg = smoke();
    let vs = nn::VarStore::new(Device::Cpu);
    let rm = RewardModel::new(&(vs.root() / "rm"), &cfg.model);
    let lm = Lm::new(&(vs.root() / "lm"), &cfg.model);
    let chosen = [("s:312", "123"), ("r:98765", "56789"), ("s:1", "1")];
    let rejected = [("s:312", "1234"), ("r:98765", "5"), ("s:1", "11")];
    let (bc, br) = (tokens(&chosen, 16), tokens(&rejected, 16));
    let (rc, rr) = (rm.rewards(&bc), rm.rewards(&br));
    let (lc, lr) = (lm.seq_logprobs(&bc), lm.seq_logprobs(&br));
    for i in 0..3 {
        let one_c = tokens(&chosen[i..i + 1], 16);
        let one_r = tokens(&rejected[i..i + 1], 16);
        for (batched, alone) in [
            (
                rc.double_value(&[i as i64]),
                rm.rewards(&one_c).double_value(&[0]),
            ),
            (
                rr.double_value(&[i as i64]),
                rm.rewards(&one_r).double_value(&[0]),
            ),
            (
                lc.double_value(&[i as i64]),
                lm.seq_logprobs(&one_c).double_value(&[0]),
            ),
            (
                lr.double_value(&[i as i64]),
                lm.seq_logprobs(&one_r).double_value(&[0]),
            ),
        ] {
            assert!(
                (batched - alone).abs() < 1e-5,
                "pair {i}: batched {batched} vs alone {alone}"
            );
        }
    }
    // Bradley–Terry with centring, by hand from the per-pair rewards.
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let (c, r): (Vec<f64>, Vec<f64>) = (Vec::try_from(&rc).unwrap(), Vec::try_from(&rr).unwrap());
    let want = (0..3)
        .map(|i| -sig(c[i] - r[i]).ln() + 0.01 * (c[i] + r[i]).powi(2))
        .sum::<f64>()
        / 3.0;
    let got = loss_zoo::preference::bradley_terry_loss(&rc, &rr, None, Some(0.01))
        .unwrap()
        .double_value(&[]);
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    // DPO with the same model as policy and reference is log 2 per pair; with reference
    // log-probs shifted by d it is −log σ(β·(Δπ − Δref)).
    let zero = loss_zoo::preference::dpo_loss(&lc, &lr, &lc, &lr, 0.1).unwrap();
    assert!((zero.loss.double_value(&[]) - 2f64.ln()).abs() < 1e-6);
    let shifted = loss_zoo::preference::dpo_loss(&lc, &lr, &(&lc - 1.0), &lr, 0.5).unwrap();
    assert!((shifted.loss.double_value(&[]) + sig(0.5).ln()).abs() < 1e-5);
}

#[test]
fn sequence_log_probability_of_a_known_tiny_model() {
    // All weights zero except the output bias: every step's distribution is softmax(bias)
    // over ASCII and EOS. Bias 2 on '1', 1 on EOS, 0 elsewhere.
    let cfg = smoke();
    let vs = nn::VarStore::new(Device::Cpu);
    let lm = Lm::new(&vs.root(), &cfg.model);
    tch::no_grad(|| {
        for (name, mut v) in vs.variables() {
            let _ = v.zero_();
            if name == "out.bias" {
                let _ = v.get(b'1' as i64).fill_(2.0);
                let _ = v.get(data::EOS).fill_(1.0);
            }
        }
    });
    // 128 ASCII bytes + EOS are allowed: Z = 127·e⁰ (every byte but '1') + e² + e¹.
    let z = (127.0 + 2f64.exp() + 1f64.exp()).ln();
    // Response "12" then EOS: log p('1') + log p('2') + log p(EOS).
    let want = (2.0 - z) + (0.0 - z) + (1.0 - z);
    let got = lm
        .seq_logprobs(&tokens(&[("s:21", "12")], 16))
        .double_value(&[0]);
    assert!((got - want).abs() < 1e-4, "{got} vs {want}");
}

#[test]
fn kl_estimate_converges_to_the_exact_kl() {
    // p = (0.7, 0.2, 0.1), q = (0.4, 0.4, 0.2): KL(p ‖ q) = Σ p log p/q.
    let (p, q) = ([0.7f64, 0.2, 0.1], [0.4f64, 0.4, 0.2]);
    let exact: f64 = p.iter().zip(&q).map(|(a, b)| a * (a / b).ln()).sum();
    tch::manual_seed(0);
    let draws: Vec<i64> = Vec::try_from(Tensor::from_slice(&p).multinomial(200_000, true)).unwrap();
    let lp: Vec<f64> = draws.iter().map(|&i| p[i as usize].ln()).collect();
    let lq: Vec<f64> = draws.iter().map(|&i| q[i as usize].ln()).collect();
    let est = kl_estimate(&lp, &lq);
    assert!((est - exact).abs() < 0.005, "{est} vs {exact}");
}

#[test]
fn bad_jsonl_lines_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let good = r#"{"prompt": "s:21", "chosen": "12", "rejected": "21"}"#;
    let cases = [
        (format!("{good}\n\n"), "line 2: empty line"),
        (format!("{good}\n{{\"prompt\": \"x\""), "line 2: EOF"),
        (
            r#"{"prompt": "s:21", "chosen": "12"}"#.to_string(),
            "line 1: missing field `rejected`",
        ),
        (
            r#"{"prompt": "s:21", "chosen": 12, "rejected": "21"}"#.to_string(),
            "line 1: `chosen` and `rejected` must both be strings",
        ),
        (
            r#"{"chosen": [{"role": "user"}], "rejected": []}"#.to_string(),
            "line 1: message 0 has no string `content`",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let p = tmp.path().join(format!("{i}.jsonl"));
        std::fs::write(&p, text).unwrap();
        let e = read_jsonl(&p, 16).unwrap_err().to_string();
        assert!(e.contains(&format!("{i}.jsonl")) && e.contains(want), "{e}");
    }
    // Over-long texts are counted (and cut when tokenised).
    let p = tmp.path().join("long.jsonl");
    std::fs::write(
        &p,
        format!(
            "{good}\n{{\"prompt\": \"s:21\", \"chosen\": \"{}\", \"rejected\": \"1\"}}\n",
            "1".repeat(40)
        ),
    )
    .unwrap();
    let f = read_jsonl(&p, 16).unwrap();
    assert_eq!((f.pairs.len(), f.long, f.identical), (2, 1, 0));
    // A byte-order mark is accepted; a pair whose responses are equal is skipped and counted.
    let p = tmp.path().join("bom.jsonl");
    std::fs::write(
        &p,
        format!(
            "\u{feff}{good}\n{{\"prompt\": \"s:2\", \"chosen\": \"2\", \"rejected\": \"2\"}}\n"
        ),
    )
    .unwrap();
    let f = read_jsonl(&p, 16).unwrap();
    assert_eq!((f.pairs.len(), f.identical), (1, 1));
    assert_eq!(f.pairs[0].prompt, "s:21");
}

/// Every value of `key` in a run's metrics.jsonl, in order.
fn logged(run: &str, key: &str) -> Vec<f64> {
    let v: Vec<f64> = std::fs::read_to_string(format!("{run}/metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get(key).and_then(|x| x.as_f64()))
        .collect();
    assert!(!v.is_empty(), "no {key} in {run}/metrics.jsonl");
    v
}

fn run(args: &[&str]) -> String {
    kit::testing::run_ok(BIN, args)
}

#[test]
fn the_whole_chain_on_the_smoke_config() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |x: &Path| x.to_string_lossy().to_string();
    let runs = p(&tmp.path().join("runs"));
    let smoke = p(&kit::testing::repo_root().join("configs/rlhf-reward/smoke.yaml"));
    let dir = |n: &str| format!("{runs}/rlhf-reward/{n}");
    let train = |name: &str, sets: &[String]| {
        let mut a = vec![
            "train",
            "--config",
            &smoke,
            "--runs",
            &runs,
            "--name",
            name,
            "--set",
            "train.device=cpu",
        ];
        for s in sets {
            a.extend(["--set", s.as_str()]);
        }
        run(&a)
    };
    let sft_run = format!("data.sft_run={}", dir("sft"));
    let rm_run = format!("policy.reward_run={}", dir("reward"));
    let out = train("sft", &["train.epochs=6".into()]);
    assert!(out.contains("gold_reward"), "{out}");
    // The SFT loss fell.
    let jsonl = std::fs::read_to_string(format!("{}/metrics.jsonl", dir("sft"))).unwrap();
    let nll: Vec<f64> = jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("train/nll_per_byte").and_then(|x| x.as_f64()))
        .collect();
    assert!(
        nll.len() >= 3 && nll[nll.len() - 1] < nll[0] * 0.85,
        "{nll:?}"
    );
    let out = train(
        "reward",
        &[
            "stage=reward".into(),
            sft_run.clone(),
            "policy.reward_run=\"\"".into(),
        ],
    );
    assert!(out.contains("bayes_ceiling"), "{out}");
    let out = train(
        "dpo",
        &[
            "stage=policy".into(),
            "policy.method=dpo".into(),
            sft_run.clone(),
            rm_run.clone(),
        ],
    );
    assert!(
        out.contains("win_rate_vs_sft") && out.contains("proxy_reward"),
        "{out}"
    );
    // The policy starts as the reference, so the first DPO losses are −log σ(0) = ln 2 and the
    // implicit rewards β·log(π/π_ref) are 0 (independent values, before any learning).
    let first = logged(&dir("dpo"), "train/dpo_loss")[0];
    assert!((first - std::f64::consts::LN_2).abs() < 0.01, "{first}");
    let chosen = logged(&dir("dpo"), "train/rewards/chosen")[0];
    assert!(chosen.abs() < 0.01, "{chosen}");
    let out = train(
        "rl",
        &[
            "stage=policy".into(),
            "policy.method=rl".into(),
            sft_run.clone(),
            rm_run.clone(),
            "train.eval_every=4".into(),
        ],
    );
    assert!(out.contains("kl"), "{out}");
    // At the first evaluation the policy is a few steps from the SFT reference: the sampled KL
    // estimate is near 0 and it wins about half of the comparisons with SFT.
    let kl = logged(&dir("rl"), "eval/kl")[0];
    assert!(kl.abs() < 0.05, "{kl}");
    let win = logged(&dir("rl"), "eval/win_rate_vs_sft")[0];
    assert!((0.3..=0.7).contains(&win), "{win}");
    let curve = std::fs::read_to_string(format!("{}/overoptimisation.csv", dir("rl"))).unwrap();
    assert!(
        curve.starts_with("step,kl,gold_reward,proxy_reward\n") && curve.lines().count() >= 3,
        "{curve}"
    );
    // TRL's prompt-only layout (strings and messages) trains the RL stage from a folder.
    let prompts = tmp.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    let ps =
        rlhf_reward::sources::toy_prompts(&self::smoke(), 20, 5, kit::data::Part::Train).unwrap();
    let mut lines: String = ps
        .iter()
        .map(|x| serde_json::json!({ "prompt": x }).to_string() + "\n")
        .collect();
    lines += r#"{"prompt": [{"role": "user", "content": "s:12"}]}"#;
    std::fs::write(prompts.join("train.jsonl"), &lines).unwrap();
    std::fs::write(prompts.join("test.jsonl"), &lines).unwrap();
    let source = format!("data.source={}", p(&prompts));
    let out = train(
        "rl-prompts",
        &[
            "stage=policy".into(),
            "policy.method=rl".into(),
            sft_run.clone(),
            rm_run.clone(),
            source,
            "train.batch_size=8".into(),
        ],
    );
    assert!(out.contains("seeded 10%") && out.contains("kl"), "{out}");
    let e = run(&["eval", "--run", &dir("rl-prompts")]);
    assert!(e.contains("| this run |"), "{e}");
    // eval of each kind.
    let e = run(&["eval", "--run", &dir("reward")]);
    assert!(e.contains("| test pairs | accuracy | Bayes ceiling"), "{e}");
    let e = run(&["eval", "--run", &dir("sft"), "--set", &rm_run]);
    assert!(e.contains("| SFT |") && e.contains("best-of-2"), "{e}");
    let e = run(&["eval", "--run", &dir("rl")]);
    assert!(e.contains("| this run |"), "{e}");
    // predict: a policy answers a prompt; a reward model scores a pairs file.
    let out = run(&["predict", "--run", &dir("rl"), "s:321"]);
    assert!(
        out.contains("prompt \"s:321\"") && out.contains("gold"),
        "{out}"
    );
    let ds = tmp.path().join("pairs");
    let s = run(&["synth", "--out", &p(&ds), "--n", "8", "--config", &smoke]);
    assert!(s.contains("the demonstrator"), "{s}");
    let out = run(&[
        "predict",
        "--run",
        &dir("reward"),
        &p(&ds.join("test.jsonl")),
    ]);
    assert!(out.contains("P(chosen ≻ rejected)"), "{out}");
    // eval on a pairs folder alone.
    let e = run(&["eval", "--run", &dir("reward"), "--data", &p(&ds)]);
    assert!(e.contains("| 2 |"), "{e}");
    // A path-like input that is not there was sampled as a prompt; `prompt:` still allows it.
    let (ok, out) = kit::testing::run_cli(BIN, &["predict", "--run", &dir("rl"), "nope.jsonl"]);
    assert!(
        !ok && out.contains("nope.jsonl") && out.contains("no such file"),
        "{out}"
    );
    let out = run(&["predict", "--run", &dir("rl"), "prompt:nope.jsonl"]);
    assert!(out.contains("prompt \"nope.jsonl\""), "{out}");
    // A run trained on a folder evaluates with its train.jsonl gone (only test.jsonl is read).
    let folder = format!("data.source={}", p(&ds));
    train(
        "folder-rm",
        &[
            "stage=reward".into(),
            folder,
            "train.epochs=1".into(),
            "train.batch_size=4".into(),
        ],
    );
    std::fs::remove_file(ds.join("train.jsonl")).unwrap();
    let e = run(&["eval", "--run", &dir("folder-rm")]);
    assert!(e.contains("| test pairs | accuracy"), "{e}");
    // data.sft_run naming another app's run says which app made it.
    let other = tmp.path().join("vae-run");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("config.yaml"), "{}\n").unwrap();
    std::fs::write(
        other.join("meta.json"),
        r#"{"app": "vae-kl", "inference": null}"#,
    )
    .unwrap();
    let (ok, out) = kit::testing::run_cli(
        BIN,
        &[
            "train",
            "--config",
            &smoke,
            "--runs",
            &runs,
            "--name",
            "wrong-sft",
            "--set",
            "train.device=cpu",
            "--set",
            "stage=reward",
            "--set",
            &format!("data.sft_run={}", p(&other)),
        ],
    );
    assert!(
        !ok && out.contains("vae-kl") && out.contains("data.sft_run"),
        "{out}"
    );
    // A policy stage without its SFT run is refused before anything is written; so are no
    // training prompts, and sampling temperatures RL or best-of-n cannot use.
    let empty = tmp.path().join("none");
    for (set, key) in [
        ("stage=policy", "data.sft_run"),
        ("data.prompts=0", "data.prompts"),
        ("policy.temperature=0", "policy.temperature"),
    ] {
        kit::testing::assert_invalid_before_any_write(BIN, Path::new(&smoke), set, key, &empty);
    }
    let cfg = |sets: &[&str]| -> Result<(), String> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let c: rlhf_reward::config::Config = kit::config::load(Path::new(&smoke), &sets).unwrap();
        kit::app::AppConfig::validate(&c).map_err(|e| e.to_string())
    };
    let rl = [
        "stage=policy",
        "policy.method=rl",
        "data.sft_run=x",
        "policy.reward_run=y",
    ];
    assert!(cfg(&rl).is_ok());
    let e = cfg(&[&rl[..], &["policy.temperature=0.7"]].concat()).unwrap_err();
    assert!(
        e.contains("policy.temperature") && e.contains("temperature 1"),
        "{e}"
    );
}

#[test]
fn every_config_in_the_folder_validates() {
    let n = kit::testing::validate_every_config::<rlhf_reward::config::Config>("rlhf-reward");
    assert!(n >= 11, "only {n} configs in configs/rlhf-reward/");
}

#[test]
fn a_resumed_run_records_each_step_once_after_a_kill_between_log_and_checkpoint() {
    kit::testing::assert_resume_records_each_step_once(
        env!("CARGO_BIN_EXE_rlhf-reward"),
        "rlhf-reward",
        &kit::testing::repo_root().join("configs/rlhf-reward/smoke.yaml"),
        &[],
    );
}
