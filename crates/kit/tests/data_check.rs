//! `data check`: counts per split and class, planted corrupt files named, exact duplicates
//! across splits found by content (pictures and JSONL lines), and `train`'s leak warning.

use kit::data::check::{check, render};
use std::path::Path;

fn png(path: &Path, value: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_pixel(8, 6, image::Luma([value]))
        .save(path)
        .unwrap();
}

#[test]
fn planted_corrupt_files_and_cross_split_copies_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    png(&d.join("train/cat/1.png"), 10);
    png(&d.join("train/cat/2.png"), 20);
    png(&d.join("train/dog/3.png"), 30);
    std::fs::create_dir_all(d.join("val/cat")).unwrap();
    std::fs::copy(d.join("train/cat/1.png"), d.join("val/cat/copy.png")).unwrap();
    png(&d.join("test/dog/4.png"), 40);
    std::fs::write(d.join("test/dog/broken.png"), b"\x89PNG not really").unwrap();
    // The same picture twice inside training is not a leak.
    std::fs::copy(d.join("train/cat/2.png"), d.join("train/dog/again.png")).unwrap();
    let r = check(d).unwrap();
    assert_eq!(r.counts["train"]["cat"], 2);
    assert_eq!(r.counts["train"]["dog"], 2);
    assert_eq!(r.counts["test"]["dog"], 2);
    assert_eq!(r.unreadable.len(), 1);
    assert!(r.unreadable[0].0.ends_with("broken.png"));
    assert_eq!(r.duplicates.len(), 1, "{:?}", r.duplicates);
    let places: Vec<&str> = r.duplicates[0].iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(places, ["train", "val"]);
    assert_eq!(r.image_sizes[&(8, 6, "L8".to_string())], 6);
    assert_eq!(r.problems(), 2);
    let text = render(d, &r);
    assert!(
        text.contains("copy.png") && text.contains("broken.png"),
        "{text}"
    );
}

#[test]
fn a_prompt_in_train_and_test_jsonl_is_found_by_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("train.jsonl"),
        "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("test.jsonl"),
        "{\"prompt\": \"c\"}\n{\"prompt\": \"b\"}\nnot json\n",
    )
    .unwrap();
    let r = check(d).unwrap();
    assert_eq!((r.counts["train"]["-"], r.counts["test"]["-"]), (2, 3));
    assert_eq!(r.duplicates.len(), 1);
    let at: Vec<&str> = r.duplicates[0].iter().map(|(_, a)| a.as_str()).collect();
    assert!(
        at[0].ends_with("test.jsonl:2") || at[1].ends_with("test.jsonl:2"),
        "{at:?}"
    );
    assert!(r
        .unreadable
        .iter()
        .any(|(_, why)| why.starts_with("line 3")));
}
