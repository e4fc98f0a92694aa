//! Every lecture figure renders, and the numbers it plots agree with independent hand values.

fn close(got: Option<f64>, want: f64, tol: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: number missing"));
    assert!(
        (got - want).abs() <= tol,
        "{what}: {got} vs {want} (±{tol})"
    );
}

#[test]
fn every_figure_renders_and_its_numbers_match_the_hand_values() {
    let figs = figures::all().unwrap();
    assert_eq!(figs.len(), 8);
    let get = |name: &str| {
        figs.iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no figure {name}"))
    };
    for f in &figs {
        assert!(
            f.image.width() >= 600 && f.image.height() >= 200,
            "{}",
            f.name
        );
        let coloured = f
            .image
            .pixels()
            .filter(|p| p.0[0].abs_diff(p.0[2]) > 40)
            .count();
        assert!(coloured > 300, "{}: nothing drawn in colour", f.name);
    }
    // Focal: (1 − 0.9)^2 = 0.01 of the cross-entropy at p_t = 0.9, γ = 2.
    close(
        get("focal-loss").number("fl_over_ce_pt0.9_g2"),
        0.01,
        1e-9,
        "focal ratio",
    );
    // 1,000 negatives at p_t = 0.99 against one positive at p_t = 0.3, cross-entropy.
    let (neg, pos) = (1000.0 * -(0.99f64.ln()), -(0.3f64.ln()));
    let share = get("focal-easy-negatives");
    close(
        share.number("easy_share_g0"),
        neg / (neg + pos),
        1e-9,
        "CE share",
    );
    let (neg2, pos2) = (neg * 0.01f64.powi(2), pos * 0.7f64.powi(2));
    close(
        share.number("easy_share_g2"),
        neg2 / (neg2 + pos2),
        1e-9,
        "γ=2 share",
    );
    // The lecture's 100,000 × 0.1 = 10,000 against 100 × 2.3 = 230 (97.8% easy), and the same
    // examples under γ = 2: (1 − e^−0.1)² · 0.1 each against (1 − e^−2.3)² · 2.3.
    close(share.number("lecture_easy_ce"), 10_000.0, 1e-6, "10,000");
    close(share.number("lecture_hard_ce"), 230.0, 1e-6, "230");
    close(
        share.number("lecture_easy_share_ce"),
        10_000.0 / 10_230.0,
        1e-9,
        "97.8%",
    );
    let e = 100_000.0 * (1.0 - (-0.1f64).exp()).powi(2) * 0.1;
    let h = 100.0 * (1.0 - (-2.3f64).exp()).powi(2) * 2.3;
    close(
        share.number("lecture_easy_share_g2"),
        e / (e + h),
        1e-9,
        "γ=2 lecture share",
    );
    close(
        share.number("lecture_negatives_per_positive"),
        93.0 / 7.0,
        1e-12,
        "1:13",
    );
    // ArcFace: cos(θ + 0.5) rises again past θ = π − 0.5 (cos(3.5) > cos(3.3)).
    let rise = get("margins")
        .number("arcface_theta3.0_minus_theta2.8")
        .unwrap();
    assert!((rise - ((3.5f64).cos() - (3.3f64).cos())).abs() < 0.02 && rise > 0.0);
    // CTC: every frame belongs to exactly one symbol in every alignment; the collapse rule.
    let ctc = get("ctc-lattice");
    close(ctc.number("min_frame_mass"), 1.0, 1e-4, "frame mass min");
    close(ctc.number("max_frame_mass"), 1.0, 1e-4, "frame mass max");
    close(ctc.number("decoded_is_2025"), 1.0, 0.0, "2025");
    close(ctc.number("blank_keeps_22"), 1.0, 0.0, "2 2 _ 2");
    close(ctc.number("no_blank_merges_to_2"), 1.0, 0.0, "2 2 2");
    // Chamfer: the chunked implementation equals brute force on the plotted sets.
    let ch = get("chamfer-links");
    close(
        ch.number("chamfer"),
        ch.number("chamfer_bruteforce").unwrap(),
        1e-12,
        "chamfer",
    );
    // Cross-entropy's gradient is spread evenly: 2 tumour pixels of 20,000 get 1e-4 of it.
    let dc = get("dice-vs-ce");
    close(dc.number("ce_share_at_1e-4"), 1e-4, 1e-9, "CE share");
    assert!(dc.number("dice_share_at_1e-4").unwrap() > 0.4);
    // KL: forward matches moments (mean 0, sd √(0.6² + 2²) ≈ 2.09); reverse sits on a mode.
    let kl = get("kl-directions");
    close(kl.number("forward_mu"), 0.0, 0.05, "forward μ");
    close(
        kl.number("forward_sigma"),
        (0.36f64 + 4.0).sqrt(),
        0.1,
        "forward σ",
    );
    close(
        kl.number("reverse_mu").map(f64::abs),
        2.0,
        0.05,
        "reverse μ",
    );
    close(kl.number("reverse_sigma"), 0.6, 0.05, "reverse σ");
    // Bradley–Terry: σ(0) = 0.5, σ(2), and a margin of 1 at a gap of 1.
    let bt = get("bradley-terry");
    close(bt.number("bt_at_0"), 0.5, 1e-12, "σ(0)");
    close(
        bt.number("bt_at_2"),
        1.0 / (1.0 + (-2f64).exp()),
        1e-12,
        "σ(2)",
    );
    close(bt.number("margin_at_1"), 0.5, 1e-12, "margin");
}
