//! Ctrl-C and SIGTERM: the first asks the training loop to save and stop at the next step,
//! a second ends the process at once with 130.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Once;

/// Set by Ctrl-C / SIGTERM; the loop takes it (and clears it) at the next step boundary.
static STOP: AtomicBool = AtomicBool::new(false);
/// Every Ctrl-C / SIGTERM this process received; never cleared, so a second press still counts
/// as the second after the loop has taken the first.
static PRESSES: AtomicU32 = AtomicU32::new(0);
static HANDLER: Once = Once::new();
/// Set once a loop that checkpoints on a stop is running; before that a press ends the process
/// at once (there is nothing to save yet).
static ARMED: AtomicBool = AtomicBool::new(false);

/// Installs the handler and arms it: a loop that checks [`take`] is running, so the first
/// Ctrl-C asks it to checkpoint and return `Interrupted`. A second press ends the process with
/// 130 through `_exit`: no exit-time destructors run while libtorch is still working on the
/// main thread (`process::exit` crashed there), and checkpoints are written to a temporary file
/// and renamed, so the last good one survives.
pub fn install_ctrlc() {
    install_early();
    ARMED.store(true, Ordering::SeqCst);
}

/// Installs the handler (once) without arming it: from the first line of `main`, so a Ctrl-C
/// before any loop runs ends the process with 130 and a message instead of killing it by the
/// signal.
pub fn install_early() {
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            let n = PRESSES.fetch_add(1, Ordering::SeqCst) + 1;
            STOP.store(true, Ordering::SeqCst);
            if !ARMED.load(Ordering::SeqCst) {
                exit_now(130, "interrupted (Ctrl-C or SIGTERM) before training started: no checkpoint to save");
            }
            if n >= 2 {
                exit_now(130, "second Ctrl-C: exiting without waiting for the checkpoint");
            }
            eprintln!("stop requested (Ctrl-C or SIGTERM): finishing this step and saving a checkpoint… (Ctrl-C again exits at once)");
        });
    });
}

/// Ends the process at once with `code`, after flushing stdout and stderr, without running
/// destructors or `atexit` handlers (safe while other threads are inside libtorch).
fn exit_now(code: i32, msg: &str) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{msg}");
    let _ = err.flush();
    // SAFETY: `_exit` takes no pointers and never returns; skipping destructors is the point.
    unsafe { libc::_exit(code) }
}

/// Whether a stop was requested since the last call (clears it; the press count stays).
pub fn take() -> bool {
    STOP.swap(false, Ordering::SeqCst)
}
