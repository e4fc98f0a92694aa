//! Stopping and resuming the loop from outside, through the spiral binary: SIGTERM saves like
//! Ctrl-C, a second Ctrl-C exits 130 at once, kill -9 leaves a loadable checkpoint, and a
//! finished run resumes to nothing.

mod common;

use common::*;
use kit::checkpoint::Checkpoint;
use std::process::Command;

#[test]
fn sigterm_saves_like_ctrl_c() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = train_args("term", &["--set", "train.epochs=100000"]);
    args.push("--runs".into());
    args.push(tmp.path().to_string_lossy().to_string());
    let child = Command::new(kit::testing::example_bin("kit", "spiral"))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let metrics = tmp.path().join("spiral/term/metrics.jsonl");
    let t0 = std::time::Instant::now();
    while std::fs::metadata(&metrics).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(t0.elapsed().as_secs() < 60, "no progress within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}: {stdout}", out.status);
    assert!(stdout.contains("interrupted at step"), "{stdout}");
    let ck = Checkpoint::read(&tmp.path().join("spiral/term/checkpoints/last.safetensors"));
    assert!(ck.unwrap().train_state().unwrap().step > 0);
}

#[test]
fn kill_9_at_any_moment_leaves_a_loadable_checkpoint_and_resume_continues() {
    // Checkpoints every step, so most kills land during or between checkpoint writes.
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("spiral/k");
    for (trial, delay_ms) in [150u64, 400, 900].into_iter().enumerate() {
        let mut args = if trial == 0 {
            train_args(
                "k",
                &[
                    "--set",
                    "train.epochs=100000",
                    "--set",
                    "train.checkpoint_every=1",
                ],
            )
        } else {
            vec![
                "train".into(),
                "--resume".into(),
                run.to_string_lossy().to_string(),
            ]
        };
        args.push("--runs".into());
        args.push(tmp.path().to_string_lossy().to_string());
        let mut child = Command::new(kit::testing::example_bin("kit", "spiral"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let last = run.join("checkpoints/last.safetensors");
        let t0 = std::time::Instant::now();
        while !last.is_file() {
            assert!(t0.elapsed().as_secs() < 60, "no checkpoint within 60 s");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL: no handler runs
        child.wait().unwrap();
        let ck = Checkpoint::read(&last).unwrap_or_else(|e| panic!("trial {trial}: {e}"));
        assert!(ck.train_state().unwrap().step > 0);
    }
    // A final resume finishes a short budget and leaves no partial file behind.
    let dir = run.to_string_lossy().to_string();
    let o = spiral(
        tmp.path(),
        &["train", "--resume", &dir, "--set", "train.max_steps=1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let leftovers: Vec<_> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_second_ctrl_c_always_exits_130_and_never_crashes() {
    // Two SIGINTs at several points of a run: the second must end the process with 130, not a
    // signal death (the old `process::exit` on the handler thread raced libtorch's
    // destructors) and not 0 (a press the loop had taken was forgotten, so the second counted
    // as a first). The second is sent once the first was seen (two signals sent back to back
    // merge into one in the kernel, as for any process), 0–2 ms later: before, during or after
    // the loop takes the first. A wide model makes the checkpoint take long enough that the
    // process is still running when the second arrives.
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    for trial in 0..20u64 {
        let name = format!("c{trial}");
        let mut args = train_args(
            &name,
            &["--set", "train.epochs=100000", "--set", "model.hidden=1024"],
        );
        args.push("--runs".into());
        args.push(tmp.path().to_string_lossy().to_string());
        let mut child = Command::new(kit::testing::example_bin("kit", "spiral"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("stop requested") {
                    let _ = tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let metrics = tmp.path().join(format!("spiral/{name}/metrics.jsonl"));
        let t0 = std::time::Instant::now();
        while std::fs::metadata(&metrics).map(|m| m.len()).unwrap_or(0) == 0 {
            assert!(t0.elapsed().as_secs() < 60, "no progress within 60 s");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::thread::sleep(std::time::Duration::from_millis(7 * (trial % 5)));
        let pid = child.id() as libc::pid_t;
        // SAFETY: plain syscalls on our own child, which has not been waited for (not reused).
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the first Ctrl-C was never acknowledged");
        std::thread::sleep(std::time::Duration::from_micros(1000 * (trial % 3)));
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        let status = child.wait().unwrap();
        let err = reader.join().unwrap();
        assert_eq!(
            (status.code(), status.signal()),
            (Some(130), None),
            "trial {trial}: {status:?}\n{err}"
        );
        assert!(err.contains("second Ctrl-C"), "trial {trial}: {err}");
    }
}

#[test]
fn resuming_a_finished_run_writes_no_new_event_file() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run_spiral(tmp.path(), &train_args("done", &[]));
    assert!(o.status.success(), "{}", text(&o));
    let run = tmp.path().join("spiral/done");
    let events = || {
        std::fs::read_dir(&run)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("events.out"))
            .count()
    };
    assert_eq!(events(), 1);
    for _ in 0..2 {
        let dir = run.to_string_lossy().to_string();
        let o = spiral(tmp.path(), &["train", "--resume", &dir]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("already finished"), "{}", text(&o));
    }
    assert_eq!(events(), 1);
}

#[test]
fn a_ctrl_c_at_the_first_line_of_output_ends_with_an_exit_code_not_the_signal() {
    // The handler is installed before the first line is printed: a Ctrl-C while the run is
    // being prepared ends the process with 130 and says so (or, once the loop is running, is
    // a normal stop with exit 0), never by the signal itself. (Before, the handler came with
    // the training loop, so a Ctrl-C in the first moments killed the process by SIGINT.)
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    for trial in 0..5 {
        let mut args = train_args(&format!("early{trial}"), &["--set", "train.epochs=100000"]);
        args.push("--runs".into());
        args.push(tmp.path().to_string_lossy().to_string());
        let mut child = Command::new(kit::testing::example_bin("kit", "spiral"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        // SAFETY: a plain syscall on our own child, not yet waited for.
        assert_eq!(
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
            0
        );
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut rest);
        let status = child.wait().unwrap();
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
        assert_eq!(
            status.signal(),
            None,
            "trial {trial}: killed by the signal after {first:?}"
        );
        match status.code() {
            Some(130) => assert!(err.contains("before training started"), "{err}"),
            Some(0) => assert!(rest.contains("interrupted at step"), "{rest}"),
            other => panic!("trial {trial}: exit {other:?}\n{err}"),
        }
    }
}

#[test]
fn steps_logged_after_the_last_checkpoint_of_a_killed_run_are_recorded_once_after_resume() {
    // What a SIGKILL between a step's log line and the end of its checkpoint leaves, made
    // deterministic (the shared check every app runs through its own binary).
    kit::testing::assert_resume_records_each_step_once(
        &kit::testing::example_bin("kit", "spiral").to_string_lossy(),
        "spiral",
        &smoke(),
        &[],
    );
}
