//! rlhf-reward's held-out data and its best-of-n KL: no validation or test prompt of any
//! shipped config is a training prompt of any other, and the best-of-n KL estimate against enumeration.

/// Every shipped config of the chain (SFT, reward model, DPO, RL, the quick and smoke ones).
fn shipped_configs() -> Vec<(String, rlhf_reward::config::Config)> {
    let dir = kit::testing::repo_root().join("configs/rlhf-reward");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some("yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let c = kit::config::load(&p, &[]).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), c)
        })
        .collect()
}

#[test]
fn no_validation_or_test_prompt_of_any_stage_is_a_training_prompt_of_any_stage() {
    use std::collections::HashSet;
    let configs = shipped_configs();
    assert!(configs.len() >= 11, "only {} configs", configs.len());
    let mut train: HashSet<String> = HashSet::new();
    let mut held: Vec<(String, String)> = Vec::new();
    for (name, cfg) in &configs {
        assert_eq!(cfg.data.source, "toy", "{name}");
        let [tr, va, te] = rlhf_reward::sources::toy_splits(cfg).unwrap();
        assert_eq!(
            (va.len(), te.len()),
            (cfg.data.test_prompts, cfg.data.test_prompts)
        );
        train.extend(tr);
        held.extend(va.into_iter().chain(te).map(|p| (name.clone(), p)));
    }
    let leaks: Vec<&(String, String)> = held.iter().filter(|(_, p)| train.contains(p)).collect();
    assert!(
        leaks.is_empty(),
        "{} of {} held-out prompts occur in some stage's training prompts, e.g. {:?}",
        leaks.len(),
        held.len(),
        leaks.first()
    );
    // Validation and test are disjoint too, within and across configs.
    let splits: Vec<[Vec<String>; 3]> = configs
        .iter()
        .map(|(_, c)| rlhf_reward::sources::toy_splits(c).unwrap())
        .collect();
    let val: HashSet<&String> = splits.iter().flat_map(|s| &s[1]).collect();
    assert!(splits.iter().flat_map(|s| &s[2]).all(|p| !val.contains(p)));
}

#[test]
fn best_of_n_kl_matches_enumeration_and_stays_under_the_bound() {
    // π over 4 texts with distinct rewards (index = reward rank). The best of n draws is found
    // by enumerating all 4ⁿ draws, independently of the closed form the estimator uses.
    let pi = [0.5, 0.3, 0.15, 0.05];
    for n in [2usize, 3, 4] {
        let mut bon = [0.0f64; 4];
        for t in 0..4usize.pow(n as u32) {
            let draws: Vec<usize> = (0..n).map(|k| t / 4usize.pow(k as u32) % 4).collect();
            let prob: f64 = draws.iter().map(|&d| pi[d]).product();
            bon[*draws.iter().max().unwrap()] += prob;
        }
        let exact: f64 = (0..4)
            .filter(|&y| bon[y] > 0.0)
            .map(|y| bon[y] * (bon[y] / pi[y]).ln())
            .sum();
        // E over y ~ π_bon of the estimator's term with the exact share below y.
        let below = |y: usize| pi[..y].iter().sum::<f64>();
        let est: f64 = (0..4)
            .map(|y| bon[y] * rlhf_reward::eval::best_of_n_kl_term(pi[y].ln(), below(y), n))
            .sum();
        let bound = (n as f64).ln() - (n as f64 - 1.0) / n as f64;
        assert!((est - exact).abs() < 1e-12, "n={n}: {est} vs {exact}");
        // Heavy duplicates (π(0) = 0.5) keep the true KL well under the bound.
        assert!(exact < bound - 0.04, "n={n}: {exact} vs bound {bound}");
        // A sampled share "everything scores below y" (y not among the fresh samples) is
        // impossible for a y of mass p: read as 1 − p, the term is log(1 − (1 − p)ⁿ) − log p,
        // at most log n (it was log 0 = −708 before the clamp).
        let p: f64 = 0.01;
        let t = rlhf_reward::eval::best_of_n_kl_term(p.ln(), 1.0, n);
        let want = (1.0 - (1.0 - p).powi(n as i32)).ln() - p.ln();
        assert!(
            (t - want).abs() < 1e-9 && t <= (n as f64).ln(),
            "{t} vs {want}"
        );
    }
}
