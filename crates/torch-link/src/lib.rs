//! Build-script helper shared by every crate that produces binaries or tests on libtorch.
//!
//! The linker's `--as-needed` drops `libtorch_cuda.so` because no symbol of it is referenced
//! directly, and then `tch::Cuda::is_available()` is false even on a GPU machine. Call
//! [`link_cuda`] from `build.rs` to link it explicitly whenever the libtorch in use has it.

use std::path::PathBuf;

/// Emits `-Wl,--no-as-needed -ltorch_cuda` when `$LIBTORCH/lib/libtorch_cuda.so` exists.
pub fn link_cuda() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(root) = std::env::var_os("LIBTORCH") else {
        return;
    };
    let lib = PathBuf::from(root).join("lib");
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-search=native={}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
