//! Preference files: JSONL, one pair per line, in the three layouts the field uses, detected
//! per line:
//! - explicit prompt (TRL's standard layout): `{"prompt": "...", "chosen": "...", "rejected": "..."}`
//!   (optional `gold_chosen`, `gold_rejected`);
//! - implicit prompt (Anthropic's HH-RLHF): `{"chosen": "\n\nHuman: … \n\nAssistant: …",
//!   "rejected": "…"}`: the dialogue both share up to and including the last `\n\nAssistant:`
//!   becomes the prompt, the final Assistant turn the response (without that marker, the
//!   longest common prefix, as TRL's `extract_prompt`);
//! - conversational (TRL): `chosen` / `rejected` (and an optional `prompt`) are lists of
//!   `{"role", "content"}` messages, written out as HH-style text (`\n\nHuman:` for `user`,
//!   `\n\nAssistant:` for `assistant`, `\n\nSystem:` for `system`) and split the same way.
//!
//! The RL stage reads prompts alone ([`read_prompts`]): TRL's prompt-only layout
//! (`{"prompt": "..."}`, or `{"prompt": [messages]}` ending in a generation turn) or the prompt
//! of any pair layout above.
//!
//! Texts are UTF-8; the model reads their bytes. Over-long texts are counted here and cut when
//! tokenised (a prompt keeps its end, a response its start: see [`crate::data::encode`]).

use crate::data::Pair;
use kit::data::DataError;
use serde_json::Value;
use std::path::Path;

/// The HH-RLHF marker of an assistant turn.
const ASSISTANT: &str = "\n\nAssistant:";

/// Pairs read from a JSONL file, with what was done to them.
#[derive(Debug, Default)]
pub struct PairFile {
    pub pairs: Vec<Pair>,
    /// Pairs with a text longer than `max_len` bytes (cut when tokenised).
    pub long: usize,
    /// Pairs whose chosen and rejected responses are the same text: skipped, since their label
    /// carries no preference (a model can only score them 50%).
    pub identical: usize,
    /// Lines in each layout: explicit prompt, implicit prompt (HH), conversational.
    pub layouts: [usize; 3],
}

/// An error at 0-based line `i` of `path`.
fn line_error(path: &Path, i: usize, m: String) -> DataError {
    DataError::Invalid {
        path: path.to_path_buf(),
        message: format!("line {}: {m}", i + 1),
    }
}

/// A JSONL file's lines, each its object or an error naming the file and line (an empty line,
/// invalid JSON), with 0-based line numbers, in order: a caller meets them as it reads. A UTF-8
/// byte-order mark is accepted (Windows editors write one; JSON has none).
type Lines = Vec<(usize, Result<Value, DataError>)>;

fn json_lines(path: &Path) -> Result<Lines, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let v = if line.trim().is_empty() {
                Err(line_error(
                    path,
                    i,
                    "empty line (one JSON object per line)".into(),
                ))
            } else {
                serde_json::from_str(line).map_err(|e| line_error(path, i, format!("{e}")))
            };
            (i, v)
        })
        .collect())
}

/// Reads preference pairs from a JSONL file in any of the module's layouts. A UTF-8
/// byte-order mark is accepted. An empty line, invalid JSON, a missing field or a message
/// without `role` / `content` is an error naming the file and line; pairs with identical
/// responses are skipped and counted.
pub fn read_jsonl(path: &Path, max_len: usize) -> Result<PairFile, DataError> {
    let mut out = PairFile::default();
    for (i, v) in json_lines(path)? {
        let v = v?;
        let bad = |m: String| line_error(path, i, m);
        let (p, layout) = parse_line(&v).map_err(bad)?;
        out.layouts[layout] += 1;
        if p.chosen == p.rejected {
            out.identical += 1;
            continue;
        }
        if [&p.prompt, &p.chosen, &p.rejected]
            .iter()
            .any(|t| t.len() > max_len)
        {
            out.long += 1;
        }
        out.pairs.push(p);
    }
    if out.pairs.is_empty() {
        return Err(DataError::Invalid {
            path: path.to_path_buf(),
            message: if out.identical > 0 {
                format!(
                    "no usable pairs: all {} have identical chosen and rejected responses",
                    out.identical
                )
            } else {
                "no pairs".into()
            },
        });
    }
    Ok(out)
}

/// The prompts of a JSONL file, one per line: TRL's prompt-only layout (`prompt` a string, or a
/// list of messages written out HH-style and followed by `\n\nAssistant:`, the turn the policy
/// writes, as a chat template's generation prompt) or any pair layout's prompt. Errors name
/// the file and line, as [`read_jsonl`]'s.
pub fn read_prompts(path: &Path) -> Result<Vec<String>, DataError> {
    let mut prompts = Vec::new();
    for (i, v) in json_lines(path)? {
        let v = v?;
        let bad = |m: String| line_error(path, i, m);
        let prompt = match (v.get("prompt"), v.get("chosen")) {
            (_, Some(_)) => parse_line(&v).map_err(bad)?.0.prompt,
            (Some(Value::String(p)), None) => p.clone(),
            (Some(Value::Array(m)), None) => dialogue(m).map_err(bad)? + ASSISTANT,
            (Some(_), None) => {
                return Err(bad("`prompt` must be a string or a list of messages".into()))
            }
            (None, None) => {
                return Err(bad(
                    "missing field `prompt` (TRL's prompt-only layout) or `chosen` (a pair)".into(),
                ))
            }
        };
        prompts.push(prompt);
    }
    if prompts.is_empty() {
        return Err(DataError::Invalid {
            path: path.to_path_buf(),
            message: "no prompts".into(),
        });
    }
    Ok(prompts)
}

/// One line as a pair, and its layout (0 explicit, 1 implicit HH, 2 conversational).
fn parse_line(v: &Value) -> Result<(Pair, usize), String> {
    let field = |k: &str| v.get(k).ok_or_else(|| format!("missing field `{k}`"));
    let (chosen, rejected) = (field("chosen")?, field("rejected")?);
    let gold = |k: &str| v.get(k).and_then(Value::as_f64);
    let pair = |prompt: String, chosen: String, rejected: String| Pair {
        prompt,
        chosen,
        rejected,
        gold_chosen: gold("gold_chosen"),
        gold_rejected: gold("gold_rejected"),
    };
    match (v.get("prompt"), chosen, rejected) {
        (Some(Value::String(p)), Value::String(c), Value::String(r)) => {
            Ok((pair(p.clone(), c.clone(), r.clone()), 0))
        }
        (None, Value::String(c), Value::String(r)) => {
            let (p, c, r) = split_dialogue(c, r);
            Ok((pair(p, c, r), 1))
        }
        (prompt, Value::Array(c), Value::Array(r)) => {
            let before = match prompt {
                Some(Value::Array(m)) => dialogue(m)?,
                None => String::new(),
                Some(_) => return Err("`prompt` must be a list of messages like `chosen`".into()),
            };
            let (c, r) = (before.clone() + &dialogue(c)?, before + &dialogue(r)?);
            let (p, c, r) = split_dialogue(&c, &r);
            Ok((pair(p, c, r), 2))
        }
        _ => Err("`chosen` and `rejected` must both be strings or both be lists of {\"role\", \"content\"} messages".into()),
    }
}

/// Messages written out as HH-style text.
fn dialogue(messages: &[Value]) -> Result<String, String> {
    let mut s = String::new();
    for (k, m) in messages.iter().enumerate() {
        let get = |f: &str| {
            m.get(f)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("message {k} has no string `{f}`"))
        };
        let speaker = match get("role")? {
            "user" | "human" => "Human",
            "assistant" => "Assistant",
            "system" => "System",
            other => return Err(format!("message {k}: unknown role `{other}`")),
        };
        s += &format!("\n\n{speaker}: {}", get("content")?);
    }
    Ok(s)
}

/// (prompt, chosen, rejected) of two full dialogues: the prompt is the shared text up to and
/// including the last `\n\nAssistant:` both contain at the same place; without one, the
/// longest common prefix (at a character boundary, a trailing space left to the responses).
pub fn split_dialogue(chosen: &str, rejected: &str) -> (String, String, String) {
    let common = chosen
        .char_indices()
        .zip(rejected.chars())
        .find(|((_, a), b)| a != b)
        .map_or(chosen.len().min(rejected.len()), |((i, _), _)| i);
    let cut = match chosen[..common].rfind(ASSISTANT) {
        Some(i) => i + ASSISTANT.len(),
        None => {
            let shared = &chosen[..common];
            shared.trim_end_matches(' ').len()
        }
    };
    // Both strings share the bytes before `common`, so `cut` is a boundary in both.
    let response = |t: &str| t[cut..].strip_prefix(' ').unwrap_or(&t[cut..]).to_string();
    (
        chosen[..cut].to_string(),
        response(chosen),
        response(rejected),
    )
}

/// Prints what reading `path` found, skipped or will truncate.
pub fn report(path: &Path, f: &PairFile, max_len: usize) {
    let [explicit, hh, conversational] = f.layouts;
    if hh + conversational > 0 {
        println!(
            "{}: {explicit} pairs with an explicit prompt, {hh} HH-RLHF dialogues and {conversational} conversational ones (prompt = the shared dialogue up to the last Assistant turn)",
            path.display()
        );
    }
    if f.identical > 0 {
        println!(
            "{}: {} pairs with identical chosen and rejected responses skipped (no preference)",
            path.display(),
            f.identical
        );
    }
    if f.long > 0 {
        println!(
            "{}: {} pairs have a text longer than data.max_len = {max_len} bytes: prompts keep their last {max_len} bytes, responses their first",
            path.display(),
            f.long
        );
    }
}

/// Writes pairs as JSONL (the explicit-prompt layout).
pub fn write_jsonl(path: &Path, pairs: &[Pair]) -> anyhow::Result<()> {
    let mut s = String::new();
    for p in pairs {
        s.push_str(&serde_json::to_string(p)?);
        s.push('\n');
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(path, s)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hh_dialogues_split_at_the_last_assistant_turn() {
        let c = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant: 4";
        let r = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant: 5, I think";
        let (p, a, b) = split_dialogue(c, r);
        assert_eq!(
            p,
            "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: 2+2?\n\nAssistant:"
        );
        assert_eq!((a.as_str(), b.as_str()), ("4", "5, I think"));
        // Responses that begin alike are not cut into: the split is the marker, not the prefix.
        let (p, a, b) = split_dialogue(
            "\n\nHuman: x\n\nAssistant: yes ok",
            "\n\nHuman: x\n\nAssistant: yes no",
        );
        assert_eq!(
            (p.as_str(), a.as_str(), b.as_str()),
            ("\n\nHuman: x\n\nAssistant:", "yes ok", "yes no")
        );
        // No marker: the longest common prefix, at a character boundary (é is two bytes).
        let (p, a, b) = split_dialogue("Q: café au lait", "Q: café noir");
        assert_eq!(
            (p.as_str(), a.as_str(), b.as_str()),
            ("Q: café", "au lait", "noir")
        );
    }
}
