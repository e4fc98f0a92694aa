//! Handwriting data as downloaded: IAM's lines database (ascii/lines.txt + lines/…/*.png, with
//! and without the task's split files) and a CSV of image paths and transcripts, each trained
//! on by the smoke config and evaluated.

use handwriting_ctc::layouts;
use kit::data::Part;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_handwriting-ctc");

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `synth`'s lines (train / val / test labels.tsv + PNGs) under `dir`: (split, image, text).
fn synth_lines(dir: &Path) -> Vec<(String, std::path::PathBuf, String)> {
    let smoke = kit::testing::repo_root().join("configs/handwriting-ctc/smoke.yaml");
    kit::testing::run_ok(
        BIN,
        &[
            "synth",
            "--out",
            &s(dir),
            "--config",
            &s(&smoke),
            "--n",
            "48",
        ],
    );
    let mut out = Vec::new();
    for split in ["train", "val", "test"] {
        let tsv = std::fs::read_to_string(dir.join(split).join("labels.tsv")).unwrap();
        for l in tsv.lines() {
            let (p, t) = l.split_once('\t').unwrap();
            out.push((split.to_string(), dir.join(split).join(p), t.to_string()));
        }
    }
    out
}

fn train_and_eval(source: &Path, runs: &Path, name: &str) -> String {
    let src = format!("data.source={}", s(source));
    let sets = [src.as_str(), "train.batch_size=4", "train.epochs=1"];
    kit::testing::smoke_train_eval(BIN, "handwriting-ctc", runs, name, &sets).0
}

#[test]
fn iam_lines_with_and_without_split_files_train_and_evaluate() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = synth_lines(&tmp.path().join("synth"));
    let iam = tmp.path().join("iam");
    std::fs::create_dir_all(iam.join("ascii")).unwrap();
    let mut txt = String::from("# IAM lines.txt\n#\n");
    let mut sets: [String; 3] = Default::default();
    for (k, (split, png, text)) in lines.iter().enumerate() {
        // Two lines per form; forms of one writer group a01, a02.
        let form = format!("a0{}-{:03}u", 1 + k % 2, k / 2);
        let id = format!("{form}-{:02}", k % 2);
        let dir = iam.join("lines").join(&form[..3]).join(&form);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(png, dir.join(format!("{id}.png"))).unwrap();
        let words = text.replace(' ', "|");
        txt += &format!("{id} ok 154 1 408 746 1661 89 {words}\n");
        let i = ["train", "val", "test"]
            .iter()
            .position(|x| x == split)
            .unwrap();
        sets[i] += &format!("{id}\n");
    }
    std::fs::write(iam.join("ascii/lines.txt"), &txt).unwrap();
    assert!(layouts::is_iam(&iam));
    // Without the task's files: by form, every line of a form in one part, all lines used.
    let alphabet: Vec<char> = "0123456789".chars().collect();
    let parts: Vec<_> = [Part::Train, Part::Val, Part::Test]
        .iter()
        .map(|&p| layouts::iam(&iam, p, &alphabet).unwrap())
        .collect();
    assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), lines.len());
    // With them: exactly the listed lines.
    let task = iam.join("largeWriterIndependentTextLineRecognitionTask");
    std::fs::create_dir_all(&task).unwrap();
    for (f, ids) in ["trainset.txt", "validationset1.txt", "testset.txt"]
        .iter()
        .zip(&sets)
    {
        std::fs::write(task.join(f), ids).unwrap();
    }
    let test = layouts::iam(&iam, Part::Test, &alphabet).unwrap();
    assert_eq!(test.len(), sets[2].lines().count());
    train_and_eval(&iam, &tmp.path().join("runs"), "iam");
    // A broken line is named.
    std::fs::write(iam.join("ascii/lines.txt"), "a01-000u-00 ok 1\n").unwrap();
    let e = layouts::iam(&iam, Part::Train, &alphabet)
        .unwrap_err()
        .to_string();
    assert!(e.contains("lines.txt:1"), "{e}");
}

#[test]
fn a_csv_of_images_and_transcripts_trains_and_evaluates() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = synth_lines(&tmp.path().join("synth"));
    let root = tmp.path().join("csv");
    for split in ["train", "val", "test"] {
        let dir = root.join(split);
        std::fs::create_dir_all(dir.join("img")).unwrap();
        let mut csv = String::from("file_name,text\n");
        for (k, (_, png, text)) in lines.iter().filter(|l| l.0 == split).enumerate() {
            std::fs::copy(png, dir.join(format!("img/{k}.png"))).unwrap();
            csv += &format!("img/{k}.png,\"{text}\"\n");
        }
        std::fs::write(dir.join("lines.csv"), csv).unwrap();
    }
    train_and_eval(&root, &tmp.path().join("runs"), "csv");
    std::fs::write(root.join("train/lines.csv"), "path,words\nimg/0.png,1\n").unwrap();
    let e = handwriting_ctc::data::read_folder(&root.join("train"), &['1'])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("transcript column"), "{e}");
}
