//! RLOO: advantages on a hand example, the gradient of the loss, bad arguments, and a few
//! policy-gradient steps on a bandit that raise the expected reward.

use loss_zoo::preference::{rloo_advantages, rloo_loss};
use tch::{Kind, Tensor};

fn vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double)).unwrap()
}

#[test]
fn advantages_of_a_hand_example() {
    // Two prompts, k = 3. Prompt 1: 1 − (2+3)/2, 2 − (1+3)/2, 3 − (1+2)/2.
    // Prompt 2: 0 − 6/2, 0 − 6/2, 6 − 0/2.
    let r = Tensor::from_slice(&[1.0f64, 2.0, 3.0, 0.0, 0.0, 6.0]);
    let a = vec(&rloo_advantages(&r, 3).unwrap());
    assert_eq!(a, [-1.5, 0.0, 1.5, -3.0, -3.0, 6.0]);
    for g in a.chunks(3) {
        assert!(g.iter().sum::<f64>().abs() < 1e-12, "{g:?}");
    }
    // k = 2: each is its difference to the other.
    let a = vec(&rloo_advantages(&Tensor::from_slice(&[5.0f64, 1.0]), 2).unwrap());
    assert_eq!(a, [4.0, -4.0]);
    // Equal rewards in a group (e.g. identical greedy samples): no signal at all.
    let a = vec(&rloo_advantages(&Tensor::from_slice(&[0.7f64; 4]), 4).unwrap());
    assert!(a.iter().all(|v| v.abs() < 1e-15), "{a:?}");
}

#[test]
fn loss_gradient_is_minus_advantage_over_n() {
    let logp = Tensor::from_slice(&[-1.0f64, -2.0, -0.5, -3.0]).set_requires_grad(true);
    let r = Tensor::from_slice(&[1.0f64, 0.0, 2.0, 4.0]).set_requires_grad(true);
    let loss = rloo_loss(&logp, &r, 2).unwrap();
    // A = [1, −1, −2, 2]; L = −(1·−1 + −1·−2 + −2·−0.5 + 2·−3)/4 = −(−1 + 2 + 1 − 6)/4 = 1.
    assert!((loss.double_value(&[]) - 1.0).abs() < 1e-12);
    loss.backward();
    assert_eq!(vec(&logp.grad()), [-0.25, 0.25, 0.5, -0.5]);
    // No gradient flows into the rewards.
    assert!(!r.grad().defined() || vec(&r.grad()).iter().all(|&g| g == 0.0));
}

#[test]
fn bad_group_sizes_are_named() {
    let r = Tensor::from_slice(&[1.0f64, 2.0, 3.0]);
    for k in [0usize, 1, 2] {
        let e = rloo_advantages(&r, k).unwrap_err().to_string();
        assert!(e.contains("`k`") && e.contains("k ≥ 2"), "{e}");
    }
    let e = rloo_loss(&Tensor::zeros([4], (Kind::Double, tch::Device::Cpu)), &r, 3)
        .unwrap_err()
        .to_string();
    assert!(e.contains("rewards"), "{e}");
}

#[test]
fn a_few_rloo_steps_raise_the_reward_of_a_bandit() {
    // A softmax policy over 4 arms with rewards 0, 0.2, 0.5, 1; k = 4 samples per "prompt",
    // 16 prompts per step, plain gradient descent on the logits.
    tch::manual_seed(0);
    let reward = Tensor::from_slice(&[0.0f64, 0.2, 0.5, 1.0]);
    let mut logits = Tensor::zeros([4], (Kind::Double, tch::Device::Cpu)).set_requires_grad(true);
    let expected = |l: &Tensor| (l.softmax(0, Kind::Double) * &reward).sum(Kind::Double);
    let before = expected(&logits).double_value(&[]);
    for _ in 0..30 {
        let probs = logits.softmax(0, Kind::Double);
        let arms = tch::no_grad(|| probs.multinomial(64, true));
        let logp = probs.log().index_select(0, &arms);
        let r = reward.index_select(0, &arms);
        let loss = rloo_loss(&logp, &r, 4).unwrap();
        logits.zero_grad();
        loss.backward();
        tch::no_grad(|| {
            let _ = logits.f_sub_(&(logits.grad() * 2.0)).unwrap();
        });
    }
    let after = expected(&logits).double_value(&[]);
    // Uniform start: 0.425. The best arm pays 1.
    assert!((before - 0.425).abs() < 1e-12);
    assert!(after > 0.8, "expected reward {before:.3} -> {after:.3}");
}
