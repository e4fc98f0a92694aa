//! A stopped vae-kl run resumes to exactly the weights, optimiser moments and data order of an
//! uninterrupted one — through a `--stop-after`, a SIGTERM and a SIGKILL, each at its own
//! moment — so the app's own state (its data pipeline, β schedule) resumes too, not only the
//! kit's loop.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tch::Tensor;

const BIN: &str = env!("CARGO_BIN_EXE_vae-kl");

fn tensors(path: &Path) -> BTreeMap<String, Tensor> {
    Tensor::read_safetensors(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .collect()
}

fn step_of(run: &Path) -> u64 {
    kit::checkpoint::Checkpoint::read(&run.join("checkpoints/last.safetensors"))
        .and_then(|c| c.train_state())
        .map(|s| s.step)
        .unwrap_or(0)
}

#[test]
fn stopped_terminated_and_killed_runs_resume_bit_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |x: &Path| x.to_string_lossy().to_string();
    let runs = tmp.path().join("runs");
    let smoke = p(&kit::testing::repo_root().join("configs/vae-kl/smoke.yaml"));
    // 6 epochs of 8 batches, a checkpoint every step (so a kill lands between or inside writes).
    let sets = [
        "train.device=cpu",
        "train.epochs=6",
        "train.checkpoint_every=1",
        "train.eval_every=16",
    ];
    let train = |name: &str, extra: &[&str]| {
        let mut a: Vec<String> = [
            "train",
            "--config",
            &smoke,
            "--runs",
            &p(&runs),
            "--name",
            name,
        ]
        .map(String::from)
        .to_vec();
        for s in sets {
            a.extend(["--set".into(), s.into()]);
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let args = |v: &[String]| v.iter().map(String::as_str).collect::<Vec<_>>().join(" ");
    let whole = train("whole", &[]);
    kit::testing::run_ok(BIN, &whole.iter().map(String::as_str).collect::<Vec<_>>());
    let run = runs.join("vae-kl/parts");
    let first = train("parts", &["--stop-after", "11"]);
    let out = kit::testing::run_ok(BIN, &first.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("interrupted at step 11"), "{out}");
    let resume: Vec<String> = vec!["train".into(), "--resume".into(), p(&run)];
    // SIGTERM, then SIGKILL, each a few steps into a resumed run.
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let before = step_of(&run);
        let mut child = Command::new(BIN)
            .args(&resume)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while step_of(&run) < before + 3 {
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "{}: no progress",
                args(&resume)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: a plain syscall on our own child, not yet waited for.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let status = child.wait().unwrap();
        if signal == libc::SIGTERM {
            assert!(status.success(), "SIGTERM: {status:?}");
        }
        assert!(
            step_of(&run) > before,
            "signal {signal}: no checkpoint after step {before}"
        );
    }
    let out = kit::testing::run_ok(BIN, &resume.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("finished at step 48"), "{out}");
    let (a, b) = (
        tensors(&runs.join("vae-kl/whole/checkpoints/last.safetensors")),
        tensors(&run.join("checkpoints/last.safetensors")),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, t) in &a {
        let d = (t - &b[name]).abs().max().double_value(&[]);
        assert_eq!(d, 0.0, "{name} differs by {d}");
    }
}
