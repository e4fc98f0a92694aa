//! `just doctor`: what libtorch this build uses, what it can reach, and whether bf16 pays here
//! (float32 against bfloat16 matmul throughput on this machine). `doctor --peak [THREADS]`
//! (`just bench-peak`): the machine's matmul peak in float32 and bfloat16 at a few sizes with
//! the given intra-op threads (2, as `just bench-apps`), the physical limit its rates are read
//! against.

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn peak(threads: i32) {
    tch::set_num_threads(threads);
    let device = tch::Device::cuda_if_available();
    println!(
        "CPU: {} ({threads} threads; device {device:?})\n",
        cpu_model()
    );
    println!("| n (n×n · n×n) | fp32 GFLOP/s | bf16 GFLOP/s | bf16 / fp32 |");
    println!("|---|---|---|---|");
    for n in [256, 512, 1024, 2048] {
        let f = kit::device::matmul_gflops(tch::Kind::Float, device, n, 7);
        let b = kit::device::matmul_gflops(tch::Kind::BFloat16, device, n, 7);
        println!("| {n} | {f:.0} | {b:.0} | {:.2} |", b / f);
    }
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--peak") {
        let threads = match args.get(1).map(|t| t.parse::<i32>()) {
            None => 2,
            Some(Ok(t)) if t > 0 => t,
            Some(_) => {
                eprintln!("error: doctor --peak [THREADS]: THREADS is a positive whole number");
                return std::process::ExitCode::FAILURE;
            }
        };
        peak(threads);
        return std::process::ExitCode::SUCCESS;
    }
    if !args.is_empty() {
        eprintln!("error: doctor takes no arguments, or --peak [THREADS]");
        return std::process::ExitCode::FAILURE;
    }
    let root = option_env!("LIBTORCH").unwrap_or("(LIBTORCH not set at build time)");
    let version = std::fs::read_to_string(std::path::Path::new(root).join("version.py"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("__version__"))
                .map(|l| l.split('\'').nth(1).unwrap_or(l).to_string())
        })
        .unwrap_or_else(|| "unknown (no version.py next to libtorch)".into());
    println!("libtorch          : {root}");
    println!("torch version     : {version}");
    println!("CPU               : {}", cpu_model());
    for line in kit::device::doctor_report() {
        println!("{line}");
    }
    for line in kit::device::precision_report(tch::Device::cuda_if_available()) {
        println!("{line}");
    }
    std::process::ExitCode::SUCCESS
}
