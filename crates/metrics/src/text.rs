//! Edit distance and the error rates of text recognition.

/// Levenshtein distance (insertions, deletions, substitutions all cost 1).
pub fn levenshtein<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(x != y);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Character error rate over a corpus: Σ edit distance / Σ reference length.
pub fn cer(pairs: &[(String, String)]) -> f64 {
    rate(pairs.iter().map(|(pred, truth)| {
        let p: Vec<char> = pred.chars().collect();
        let t: Vec<char> = truth.chars().collect();
        (levenshtein(&p, &t), t.len())
    }))
}

/// Word error rate over a corpus (words split on whitespace): Σ edit distance / Σ words.
pub fn wer(pairs: &[(String, String)]) -> f64 {
    rate(pairs.iter().map(|(pred, truth)| {
        let p: Vec<&str> = pred.split_whitespace().collect();
        let t: Vec<&str> = truth.split_whitespace().collect();
        (levenshtein(&p, &t), t.len())
    }))
}

fn rate(it: impl Iterator<Item = (usize, usize)>) -> f64 {
    let (errors, total) = it.fold((0, 0), |(e, n), (d, l)| (e + d, n + l));
    if total == 0 {
        0.0
    } else {
        errors as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_by_hand() {
        let k: Vec<char> = "kitten".chars().collect();
        let s: Vec<char> = "sitting".chars().collect();
        assert_eq!(levenshtein(&k, &s), 3);
        assert_eq!(levenshtein::<char>(&[], &s), 7);
        assert_eq!(levenshtein(&k, &k), 0);
    }

    #[test]
    fn cer_and_wer_by_hand() {
        let pairs = vec![
            ("kitten".to_string(), "sitting".to_string()),
            ("2025".to_string(), "2025".to_string()),
        ];
        assert!((cer(&pairs) - 3.0 / 11.0).abs() < 1e-12);
        let words = vec![("the cat sat".to_string(), "the cat sat down".to_string())];
        assert!((wer(&words) - 0.25).abs() < 1e-12);
    }
}
