//! `DiceOptions::batch_sums`: the hook a data-parallel run uses to sum a batch Dice's
//! intersection and denominator over its ranks. Summing a batch's sums with a copy of itself
//! must give the batch Dice of the batch concatenated with itself, and a different loss from
//! the batch alone when the hook adds something else.

use loss_zoo::dice::{dice_loss, DiceOptions};
use tch::{Device, Kind, Tensor};

fn twice(t: &Tensor) -> Tensor {
    t * 2.0
}

fn other_rank_adds_ones(t: &Tensor) -> Tensor {
    t + 1.0
}

#[test]
fn batch_sums_hook_gives_the_dice_of_the_whole_global_batch() {
    tch::manual_seed(3);
    let logits = Tensor::randn([3, 2, 5, 5], (Kind::Float, Device::Cpu));
    let labels = Tensor::randint(2, [3, 1, 5, 5], (Kind::Int64, Device::Cpu));
    let opts = DiceOptions {
        softmax: true,
        to_onehot_y: true,
        include_background: false,
        batch: true,
        ..Default::default()
    };
    let doubled = dice_loss(
        &Tensor::cat(&[&logits, &logits], 0),
        &Tensor::cat(&[&labels, &labels], 0),
        &opts,
    )
    .unwrap()
    .double_value(&[]);
    let hooked = |f: fn(&Tensor) -> Tensor| {
        let o = DiceOptions {
            batch_sums: Some(f),
            ..opts
        };
        dice_loss(&logits, &labels, &o).unwrap().double_value(&[])
    };
    assert!(
        (hooked(twice) - doubled).abs() < 1e-6,
        "{} vs {doubled}",
        hooked(twice)
    );
    let alone = dice_loss(&logits, &labels, &opts)
        .unwrap()
        .double_value(&[]);
    assert!((hooked(other_rank_adds_ones) - alone).abs() > 1e-3);
    // Without `batch` the hook is not used (per-image Dice needs no other rank).
    let per_image = DiceOptions {
        batch: false,
        ..opts
    };
    let a = dice_loss(&logits, &labels, &per_image)
        .unwrap()
        .double_value(&[]);
    let b = dice_loss(
        &logits,
        &labels,
        &DiceOptions {
            batch_sums: Some(twice),
            ..per_image
        },
    )
    .unwrap()
    .double_value(&[]);
    assert_eq!(a, b);
}
