//! rlhf-reward's held-out data and its best-of-n KL: test prompts drawn apart from training and
//! validation, and the best-of-n KL estimate against enumeration.

#[test]
fn test_prompts_are_held_out_from_the_training_prompts() {
    let cfg: rlhf_reward::config::Config = kit::config::load(
        &kit::testing::repo_root().join("configs/rlhf-reward/default.yaml"),
        &[],
    )
    .unwrap();
    let d = &cfg.data;
    let train = rlhf_reward::train::toy_prompts(&cfg, d.prompts, cfg.train.seed);
    let val = kit::data::val_seed(cfg.train.seed);
    // Drawn the old way, a sizeable share of the test prompts were training prompts.
    let naive = rlhf_reward::train::toy_prompts(&cfg, d.test_prompts, val);
    let overlap = naive.iter().filter(|p| train.contains(p)).count();
    assert!(
        overlap * 10 > d.test_prompts,
        "{overlap} of {}",
        d.test_prompts
    );
    let test = rlhf_reward::sources::held_out_prompts(&cfg, d.test_prompts, val, &train).unwrap();
    assert_eq!(test.len(), d.test_prompts);
    assert!(test.iter().all(|p| !train.contains(p)));
    // The three splits: validation (selection) and test (eval only) held out from training
    // and from each other.
    let [tr, va, te] = rlhf_reward::sources::toy_splits(&cfg).unwrap();
    assert_eq!((va.len(), te.len()), (d.test_prompts, d.test_prompts));
    assert!(va.iter().all(|p| !tr.contains(p)));
    assert!(te.iter().all(|p| !tr.contains(p) && !va.contains(p)));
    // A prompt space too small for the request is a clear error, not a loop.
    let tiny = kit::config::load::<rlhf_reward::config::Config>(
        &kit::testing::repo_root().join("configs/rlhf-reward/default.yaml"),
        &["data.min_digits=1".into(), "data.max_digits=1".into()],
    )
    .unwrap();
    let train = rlhf_reward::train::toy_prompts(&tiny, 500, 1);
    let e = rlhf_reward::sources::held_out_prompts(&tiny, 10, 2, &train).unwrap_err();
    assert!(e.to_string().contains("data.max_digits"), "{e}");
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
