//! The field's metrics for text recognition: character and word error rate (edit distance over
//! the reference length) and exact-string accuracy, for greedy and beam-search decoding.

use crate::config::Config;
use metrics::{cer, wer};

/// Decoded strings of one evaluation pass.
pub struct Decoded {
    pub truth: Vec<String>,
    pub greedy: Vec<String>,
    pub beam: Vec<String>,
}

/// CER, WER and exact-string accuracy of predictions against the truth.
pub fn scores(pred: &[String], truth: &[String]) -> (f64, f64, f64) {
    let pairs: Vec<(String, String)> = pred.iter().cloned().zip(truth.iter().cloned()).collect();
    let acc = pairs.iter().filter(|(p, t)| p == t).count() as f64 / pairs.len().max(1) as f64;
    (cer(&pairs), wer(&pairs), acc)
}

/// Prints the table of one decoded evaluation set, returns the eval.json report.
pub fn report(d: &Decoded, cfg: &Config, data: &str) -> anyhow::Result<serde_json::Value> {
    let (gc, gw, ga) = scores(&d.greedy, &d.truth);
    let (bc, bw, ba) = scores(&d.beam, &d.truth);
    println!("| data | decoding | CER | WER | string accuracy |");
    println!("|---|---|---|---|---|");
    println!("| {data} | greedy | {gc:.4} | {gw:.4} | {ga:.4} |");
    println!(
        "| {data} | beam {} | {bc:.4} | {bw:.4} | {ba:.4} |",
        cfg.decode.beam_width
    );
    println!("({} strings)", d.truth.len());
    Ok(serde_json::json!({
        "strings": d.truth.len(),
        "greedy": {"cer": gc, "wer": gw, "accuracy": ga},
        "beam": {"cer": bc, "wer": bw, "accuracy": ba},
    }))
}
