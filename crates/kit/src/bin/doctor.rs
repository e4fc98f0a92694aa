//! `just doctor`: what libtorch this build uses and what it can reach.

fn main() {
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
    for line in kit::device::doctor_report() {
        println!("{line}");
    }
}
