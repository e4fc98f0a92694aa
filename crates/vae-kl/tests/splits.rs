//! vae-kl's synthetic splits are disjoint by content: no validation or test sprite is
//! pixel-for-pixel a training sprite, in any shipped sprites config.

use vae_kl::config::Config;
use vae_kl::data;

/// Every image of a source, by its pixels.
fn pixel_set(src: &data::Source) -> std::collections::HashSet<Vec<u8>> {
    src.all().unwrap().into_iter().map(|s| s.pixels).collect()
}

#[test]
fn no_validation_or_test_sprite_is_a_training_sprite_by_pixels() {
    for name in ["quick", "sprites", "default"] {
        let cfg: Config = kit::testing::load_config("vae-kl", name);
        if cfg.data.source != "sprites" {
            continue;
        }
        let (tr, va, te, _) = data::splits(&cfg.data, cfg.train.seed).unwrap();
        let train = pixel_set(&tr);
        let val = pixel_set(&va);
        for (split, held) in [("validation", &va), ("test", &te)] {
            let all = held.all().unwrap();
            let leaked = all.iter().filter(|s| train.contains(&s.pixels)).count();
            assert_eq!(
                leaked,
                0,
                "{name}: {leaked} of {} {split} sprites are training sprites",
                all.len()
            );
        }
        let test_in_val = te
            .all()
            .unwrap()
            .iter()
            .filter(|s| val.contains(&s.pixels))
            .count();
        assert_eq!(test_in_val, 0, "{name}: test sprites in validation");
    }
}
