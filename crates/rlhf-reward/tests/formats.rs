//! rlhf-reward on the preference files users bring: the HH-RLHF and TRL conversational
//! layouts, UTF-8 text, end-kept truncation, and a UTF-8 policy whose samples it can score.

use rlhf_reward::data::tokens;
use rlhf_reward::model::Lm;
use rlhf_reward::pairs::read_jsonl;
use rlhf_reward::text::TextBytes;
use tch::{nn, Device};

fn smoke() -> rlhf_reward::config::Config {
    kit::testing::load_config("rlhf-reward", "smoke")
}

#[test]
fn hh_rlhf_conversational_and_utf8_files_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("mixed.jsonl");
    let lines = [
        // HH-RLHF: the prompt is implicit, the texts UTF-8.
        r#"{"chosen": "\n\nHuman: Café?\n\nAssistant: Oui — bien sûr.", "rejected": "\n\nHuman: Café?\n\nAssistant: Non."}"#,
        // TRL conversational, implicit prompt.
        r#"{"chosen": [{"role": "user", "content": "2×3?"}, {"role": "assistant", "content": "6"}], "rejected": [{"role": "user", "content": "2×3?"}, {"role": "assistant", "content": "5"}]}"#,
        // TRL conversational, explicit prompt.
        r#"{"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "chosen": [{"role": "assistant", "content": "Hello!"}], "rejected": [{"role": "assistant", "content": "Hello, how can I help you today?"}]}"#,
        // TRL standard with a non-ASCII response.
        r#"{"prompt": "s:21", "chosen": "«12»", "rejected": "21"}"#,
    ];
    std::fs::write(&p, lines.join("\n")).unwrap();
    let f = read_jsonl(&p, 64).unwrap();
    assert_eq!(f.layouts, [1, 1, 2]);
    let got: Vec<(&str, &str, &str)> = f
        .pairs
        .iter()
        .map(|p| (p.prompt.as_str(), p.chosen.as_str(), p.rejected.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("\n\nHuman: Café?\n\nAssistant:", "Oui — bien sûr.", "Non."),
            ("\n\nHuman: 2×3?\n\nAssistant:", "6", "5"),
            (
                "\n\nSystem: Be brief.\n\nHuman: Hi\n\nAssistant:",
                "Hello!",
                "Hello, how can I help you today?"
            ),
            ("s:21", "«12»", "21"),
        ]
    );
    // A long dialogue keeps its last turns: the prompt's last max_len bytes are tokenised.
    let t = tokens(&[(f.pairs[2].prompt.as_str(), "x")], 16);
    let ids: Vec<i64> = Vec::try_from(t.ids.get(0)).unwrap();
    let tail: Vec<i64> = "Hi\n\nAssistant:".bytes().map(i64::from).collect();
    assert_eq!(ids[ids.len() - 3 - tail.len()..ids.len() - 3], tail[..]);
    assert_eq!(ids.len(), 16 + 4);
}

#[test]
fn a_utf8_policy_samples_text_it_scores_and_an_ascii_one_refuses_utf8_data() {
    let mut cfg = smoke();
    cfg.model.bytes = TextBytes::Utf8;
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let lm = Lm::new(&vs.root(), &cfg.model);
    let prompts = vec!["Café ?".to_string(); 8];
    let out = lm.sample(&prompts, 4, 32, 12, 1.0, Device::Cpu);
    // An untrained policy writes non-ASCII characters, never past the one in progress at
    // max_new, and every sampled response scores finitely (its bytes are allowed there).
    assert!(out.iter().any(|r| !r.is_ascii()), "{out:?}");
    assert!(out.iter().all(|r| r.len() <= 12 + 3), "{out:?}");
    let texts: Vec<(&str, &str)> = out
        .iter()
        .enumerate()
        .map(|(i, r)| (prompts[i / 4].as_str(), r.as_str()))
        .collect();
    let lp = lm.sampled_logprobs(&texts, 32, 12, Device::Cpu);
    assert!(lp.iter().all(|x| x.is_finite() && *x > -1e6), "{lp:?}");
    // The same weights as an ASCII policy write ASCII only.
    cfg.model.bytes = TextBytes::Ascii;
    let vs2 = nn::VarStore::new(Device::Cpu);
    let ascii = Lm::new(&vs2.root(), &cfg.model);
    assert!(ascii
        .sample(&prompts, 4, 32, 12, 1.0, Device::Cpu)
        .iter()
        .all(|r| r.is_ascii()));

    // SFT on a folder whose responses are UTF-8: refused for an ASCII policy, naming the pair
    // and the setting; read for a UTF-8 one.
    let tmp = tempfile::tempdir().unwrap();
    let line = |c: &str| {
        format!("{{\"prompt\": \"Café ?\", \"chosen\": \"{c}\", \"rejected\": \"non\"}}\n")
    };
    let text = line("oui") + &line("volontiers — merci");
    for f in ["train.jsonl", "val.jsonl"] {
        std::fs::write(tmp.path().join(f), &text).unwrap();
    }
    cfg.stage = rlhf_reward::config::Stage::Sft;
    cfg.data.source = tmp.path().to_string_lossy().to_string();
    let e = rlhf_reward::sources::sources(&cfg, Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("pair 2") && e.contains("model.bytes: utf8"),
        "{e}"
    );
    cfg.model.bytes = TextBytes::Utf8;
    let (examples, val) = rlhf_reward::sources::sources(&cfg, Device::Cpu).unwrap();
    assert_eq!((examples.len(), val.pairs.len()), (2, 2));
}

#[test]
fn trl_prompt_only_lines_and_pair_lines_give_their_prompts() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("prompts.jsonl");
    let lines = [
        r#"{"prompt": "Café ?"}"#,
        r#"{"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}"#,
        r#"{"prompt": "s:21", "chosen": "12", "rejected": "21"}"#,
        r#"{"chosen": "\n\nHuman: 2+2?\n\nAssistant: 4", "rejected": "\n\nHuman: 2+2?\n\nAssistant: 5"}"#,
    ];
    std::fs::write(&p, lines.join("\n")).unwrap();
    let got = rlhf_reward::pairs::read_prompts(&p).unwrap();
    assert_eq!(
        got,
        [
            "Café ?",
            "\n\nSystem: Be brief.\n\nHuman: Hi\n\nAssistant:",
            "s:21",
            "\n\nHuman: 2+2?\n\nAssistant:"
        ]
    );
    std::fs::write(&p, "{\"prompt\": \"a\"}\n{\"text\": \"b\"}\n").unwrap();
    let e = rlhf_reward::pairs::read_prompts(&p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("prompt-only"), "{e}");
}
