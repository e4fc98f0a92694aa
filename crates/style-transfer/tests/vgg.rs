//! VGG-19 in torchvision's layout: weights written by tools/vgg19_to_safetensors.py (a random
//! VGG-19 from PyTorch, the same script that converts the ImageNet weights) load by name, and
//! the activations at every ReLU and pool equal PyTorch's to 1e-5; a file with a missing,
//! unexpected or misshapen tensor is refused naming it.

use loss_zoo::perceptual::FeatureExtractor;
use std::collections::BTreeMap;
use std::path::Path;
use style_transfer::features::Vgg19;
use tch::{Device, Tensor};

fn python() -> std::path::PathBuf {
    let py = kit::testing::repo_root().join(".venv/bin/python");
    assert!(
        py.is_file(),
        "{} is missing: run `just setup` (it installs PyTorch, which this test compares with)",
        py.display()
    );
    py
}

fn read(path: &Path) -> BTreeMap<String, Tensor> {
    Tensor::read_safetensors(path)
        .unwrap()
        .into_iter()
        .collect()
}

fn write(path: &Path, tensors: &BTreeMap<String, Tensor>) {
    let v: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    Tensor::write_safetensors(&v, path).unwrap();
}

#[test]
fn vgg19_features_equal_pytorch_and_bad_weight_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (weights, probe) = (
        tmp.path().join("w.safetensors"),
        tmp.path().join("probe.safetensors"),
    );
    let script = kit::testing::repo_root().join("tools/vgg19_to_safetensors.py");
    let out = std::process::Command::new(python())
        .arg(&script)
        .args(["--random", "--seed", "3", "--out"])
        .arg(&weights)
        .arg("--probe")
        .arg(&probe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let net = Vgg19::load(&weights, Device::Cpu).unwrap();
    let names = net.layer_names();
    assert_eq!(names.len(), 37);
    assert_eq!(
        (names[0].as_str(), names[21].as_str(), names[36].as_str()),
        ("conv1_1", "conv4_2", "pool5")
    );
    let probe = read(&probe);
    let layers: Vec<usize> = (0..37)
        .filter(|i| probe.contains_key(&format!("features.{i}")))
        .collect();
    assert_eq!(layers.len(), 21, "16 ReLUs and 5 pools");
    let got = tch::no_grad(|| net.features(&probe["input"], &layers));
    for (i, g) in layers.iter().zip(&got) {
        let want = &probe[&format!("features.{i}")];
        assert_eq!(g.size(), want.size(), "features.{i}");
        let scale = want.abs().max().double_value(&[]).max(1e-6);
        let err = (g - want).abs().max().double_value(&[]) / scale;
        assert!(
            err < 1e-5,
            "features.{i} ({}): max error {err:e} of the largest activation",
            names[*i]
        );
    }

    // A whole torchvision state dict (with classifier.*) loads; anything else off is named.
    let good = read(&weights);
    let mut with_head = good
        .iter()
        .map(|(k, t)| (k.clone(), t.shallow_clone()))
        .collect::<BTreeMap<_, _>>();
    with_head.insert(
        "classifier.0.weight".into(),
        Tensor::zeros([2, 2], (tch::Kind::Float, Device::Cpu)),
    );
    let f = tmp.path().join("head.safetensors");
    write(&f, &with_head);
    Vgg19::load(&f, Device::Cpu).unwrap();

    let mut missing = with_head;
    missing.remove("features.34.bias");
    write(&f, &missing);
    let e = format!("{:#}", Vgg19::load(&f, Device::Cpu).err().unwrap());
    assert!(e.contains("missing tensor `features.34.bias`"), "{e}");

    let mut unexpected = good
        .iter()
        .map(|(k, t)| (k.clone(), t.shallow_clone()))
        .collect::<BTreeMap<_, _>>();
    unexpected.insert(
        "features.99.weight".into(),
        Tensor::zeros([1], (tch::Kind::Float, Device::Cpu)),
    );
    write(&f, &unexpected);
    let e = format!("{:#}", Vgg19::load(&f, Device::Cpu).err().unwrap());
    assert!(e.contains("unexpected tensor `features.99.weight`"), "{e}");

    let mut misshapen = good;
    misshapen.insert(
        "features.0.weight".into(),
        Tensor::zeros([64, 1, 3, 3], (tch::Kind::Float, Device::Cpu)),
    );
    write(&f, &misshapen);
    let e = format!("{:#}", Vgg19::load(&f, Device::Cpu).err().unwrap());
    assert!(
        e.contains("`features.0.weight` has shape [64, 1, 3, 3], VGG-19 needs [64, 3, 3, 3]"),
        "{e}"
    );

    std::fs::write(&f, b"not a safetensors file").unwrap();
    let e = format!("{:#}", Vgg19::load(&f, Device::Cpu).err().unwrap());
    assert!(
        e.contains("cannot read") && e.contains("head.safetensors"),
        "{e}"
    );
}

#[test]
fn the_config_checks_layer_names_against_the_networks_own() {
    let cfg: style_transfer::config::Config = kit::testing::load_config("style-transfer", "smoke");
    let vgg = &cfg.eval.networks[0];
    assert_eq!(vgg.kind, style_transfer::config::FeatureKind::RandomVgg19);
    let net = style_transfer::features::Vgg19::random(tch::Device::Cpu);
    assert_eq!(vgg.layer_names(), net.layer_names());
    assert_eq!(vgg.layer_names().len(), 37);
}
