fn main() {
    torch_link::link_cuda();
    // The bf16 autocast switch (csrc/autocast.cpp), the c10d collectives (csrc/dist.cpp) and
    // the fused AdamW step (csrc/optim.cpp), built against the libtorch in use.
    println!("cargo:rerun-if-changed=csrc/autocast.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let root = std::path::PathBuf::from(std::env::var_os("LIBTORCH").unwrap_or_default());
    println!("cargo:rerun-if-changed=csrc/dist.cpp");
    println!("cargo:rerun-if-changed=csrc/optim.cpp");
    cc::Build::new()
        .cpp(true)
        .file("csrc/autocast.cpp")
        .file("csrc/dist.cpp")
        .file("csrc/optim.cpp")
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .warnings(false)
        .compile("kit_autocast");
}
