//! The built-in task with a known gold reward: prompts ask for a small transformation of a
//! digit string (`s:` sort ascending, `r:` reverse), a demonstrator answers imperfectly, and
//! the gold reward scores correctness, then length, with a penalty for a degenerate pattern
//! (a digit three times in a row) that a learned reward model can fail to penalise.

use rand::seq::SliceRandom;
use rand::Rng;

/// A prompt of `n` distinct digits: `s:<digits>` or `r:<digits>`.
pub fn prompt(rng: &mut impl Rng, min_digits: usize, max_digits: usize) -> String {
    let n = rng
        .random_range(min_digits..=max_digits.max(min_digits))
        .min(10);
    let mut d: Vec<u8> = (b'0'..=b'9').collect();
    d.shuffle(rng);
    let digits: String = d[..n].iter().map(|&c| c as char).collect();
    let op = if rng.random_bool(0.5) { 's' } else { 'r' };
    format!("{op}:{digits}")
}

/// The correct answer to a prompt (`None` for a prompt that is not of the toy task).
pub fn target(prompt: &str) -> Option<String> {
    let (op, digits) = prompt.split_once(':')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut d: Vec<u8> = digits.bytes().collect();
    match op {
        "s" => d.sort_unstable(),
        "r" => d.reverse(),
        _ => return None,
    }
    String::from_utf8(d).ok()
}

/// Whether some digit appears three times in a row.
pub fn degenerate(response: &str) -> bool {
    response
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == w[1] && w[1] == w[2])
}

/// Gold reward: −1 for an empty or non-digit answer; else the share of positions equal to
/// the target, minus 0.1 per digit of length error, minus 0.5 for a degenerate run.
pub fn gold_reward(prompt: &str, response: &str) -> Option<f64> {
    let t = target(prompt)?;
    if response.is_empty() || !response.bytes().all(|b| b.is_ascii_digit()) {
        return Some(-1.0);
    }
    let right = t
        .bytes()
        .zip(response.bytes())
        .filter(|(a, b)| a == b)
        .count();
    let correct = right as f64 / t.len() as f64;
    let len_err = (response.len() as f64 - t.len() as f64).abs();
    let penalty = if degenerate(response) { 0.5 } else { 0.0 };
    Some(correct - 0.1 * len_err - penalty)
}

/// The demonstrator: the target, with each digit replaced by a random one with probability
/// `noise`, a digit appended or dropped with probability `noise` / 2 each, and with
/// probability `noise` / 4 a digit repeated into a degenerate run.
pub fn demonstrate(prompt: &str, noise: f64, rng: &mut impl Rng) -> String {
    let Some(t) = target(prompt) else {
        return String::new();
    };
    let mut d: Vec<u8> = t
        .bytes()
        .map(|c| {
            if rng.random_bool(noise) {
                b'0' + rng.random_range(0..10u8)
            } else {
                c
            }
        })
        .collect();
    if rng.random_bool(noise / 2.0) {
        d.push(b'0' + rng.random_range(0..10u8));
    } else if d.len() > 1 && rng.random_bool(noise / 2.0) {
        d.pop();
    }
    if !d.is_empty() && rng.random_bool(noise / 4.0) {
        let i = rng.random_range(0..d.len());
        d.splice(i..i, [d[i], d[i]]);
    }
    String::from_utf8(d).unwrap_or_default()
}

/// P(a is chosen over b) under Bradley–Terry on gold rewards with temperature `t`.
pub fn p_prefer(gold_a: f64, gold_b: f64, t: f64) -> f64 {
    1.0 / (1.0 + (-(gold_a - gold_b) / t).exp())
}

/// The best pair accuracy any reward model can reach on labels drawn from [`p_prefer`]: the
/// mean of max(p, 1 − p) (Bayes ceiling).
pub fn bayes_ceiling(gold_pairs: &[(f64, f64)], t: f64) -> f64 {
    let n = gold_pairs.len().max(1) as f64;
    gold_pairs
        .iter()
        .map(|&(a, b)| {
            let p = p_prefer(a, b, t);
            p.max(1.0 - p)
        })
        .sum::<f64>()
        / n
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn targets_and_gold_by_hand() {
        assert_eq!(target("s:3142").as_deref(), Some("1234"));
        assert_eq!(target("r:3142").as_deref(), Some("2413"));
        assert_eq!(target("x:31"), None);
        assert_eq!(gold_reward("s:3142", "1234"), Some(1.0));
        // 3 of 4 right, one digit too long: 0.75 − 0.1.
        assert!((gold_reward("s:3142", "12355").unwrap() - 0.65).abs() < 1e-12);
        // Degenerate run: 2 of 4 right (1, 2), same length, −0.5.
        assert!((gold_reward("s:3142", "1222").unwrap() - 0.0).abs() < 1e-12);
        assert_eq!(gold_reward("s:3142", "12a4"), Some(-1.0));
        assert_eq!(gold_reward("s:3142", ""), Some(-1.0));
    }

    #[test]
    fn bayes_ceiling_by_hand() {
        // Gold gap 0 → coin flip (0.5); gap t·ln 3 → p = 3/4.
        let t = 0.2;
        let c = bayes_ceiling(&[(0.0, 0.0), (t * 3f64.ln(), 0.0)], t);
        assert!((c - (0.5 + 0.75) / 2.0).abs() < 1e-12, "{c}");
    }

    #[test]
    fn demonstrations_are_mostly_right_and_prompts_distinct_digits() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut exact = 0;
        for _ in 0..1000 {
            let p = prompt(&mut rng, 3, 6);
            let digits = &p[2..];
            let mut seen: Vec<u8> = digits.bytes().collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), digits.len(), "{p}");
            let d = demonstrate(&p, 0.1, &mut rng);
            exact += (Some(d) == target(&p)) as usize;
        }
        assert!((500..900).contains(&exact), "{exact} exact of 1000");
    }
}
