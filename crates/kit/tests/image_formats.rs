//! Images that Pillow wrote (`tools/format_fixtures.py`) decoded by `kit::images::load` with
//! the values Pillow decodes: a 16-bit greyscale PNG (full 16-bit values; 8-bit = value / 257
//! rounded, where Pillow's `convert("RGB")` would clip at 255), a palette PNG and a
//! greyscale-with-alpha PNG (Pillow's RGB exactly), a CMYK JPEG (Pillow's RGB within JPEG
//! decoder rounding), an RGBA PNG (alpha dropped, as Pillow's RGB).

use image::DynamicImage;
use std::path::Path;

fn expected() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images/expected.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn load(name: &str) -> DynamicImage {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name);
    kit::images::load(&p).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Pillow's nested rows as a flat list of integers.
fn flat(v: &serde_json::Value) -> Vec<i64> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(flat).collect(),
        x => vec![x.as_i64().unwrap()],
    }
}

fn rgb(img: &DynamicImage) -> Vec<i64> {
    img.to_rgb8().as_raw().iter().map(|&v| v as i64).collect()
}

#[test]
fn pillow_images_decode_to_pillows_values() {
    let e = expected();

    let g = load("gray16.png");
    let raw16: Vec<i64> = g
        .as_luma16()
        .expect("a 16-bit PNG stays 16-bit")
        .as_raw()
        .iter()
        .map(|&v| v as i64)
        .collect();
    assert_eq!(raw16, flat(&e["gray16.png"]["raw"]));
    let scaled: Vec<i64> = raw16
        .iter()
        .flat_map(|&v| [((v as f64) / 257.0).round() as i64; 3])
        .collect();
    assert_eq!(rgb(&g), scaled);

    for name in ["palette.png", "gray_alpha.png", "rgba.png"] {
        assert_eq!(rgb(&load(name)), flat(&e[name]["rgb"]), "{name}");
    }
    assert_eq!(
        load("gray_alpha.png")
            .to_luma_alpha8()
            .as_raw()
            .iter()
            .map(|&v| v as i64)
            .collect::<Vec<_>>(),
        flat(&e["gray_alpha.png"]["raw"])
    );

    let ours = rgb(&load("cmyk.jpg"));
    let theirs = flat(&e["cmyk.jpg"]["rgb"]);
    assert_eq!(ours.len(), theirs.len());
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .max()
        .unwrap();
    assert!(
        worst <= 3,
        "CMYK JPEG: largest difference from Pillow's RGB is {worst} levels"
    );
}
