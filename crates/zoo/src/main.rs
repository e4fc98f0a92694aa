//! zoo: every app in one binary, `zoo <app> <command> …` (or the binary linked under an app's
//! name). Nine app binaries are ~20 MB each in release even stripped, because each carries
//! libtorch's generated C wrapper; one binary carries it once, so the device build
//! (`just device-build`) fits the 64 MiB that travel to a GPU machine.

use std::ffi::OsString;
use std::process::ExitCode;

/// The apps, by the name of their own binary.
const APPS: [&str; 10] = [
    "face-verify",
    "face-or-not",
    "handwriting-ctc",
    "detect-focal",
    "segment-dice",
    "vae-kl",
    "rlhf-reward",
    "pointcloud-chamfer",
    "style-transfer",
    "mix-match",
];

fn run(app: &str, args: Vec<OsString>) -> Option<ExitCode> {
    let code = match app {
        "face-verify" => sweep::main_with_args::<face_verify::app::FaceVerify>(args),
        "face-or-not" => sweep::main_with_args::<face_or_not::app::FaceOrNot>(args),
        "handwriting-ctc" => sweep::main_with_args::<handwriting_ctc::app::HandwritingCtc>(args),
        "detect-focal" => sweep::main_with_args::<detect_focal::app::DetectFocal>(args),
        "segment-dice" => sweep::main_with_args::<segment_dice::app::SegmentDice>(args),
        "vae-kl" => sweep::main_with_args::<vae_kl::app::VaeKl>(args),
        "rlhf-reward" => sweep::main_with_args::<rlhf_reward::app::RlhfReward>(args),
        "pointcloud-chamfer" => {
            sweep::main_with_args::<pointcloud_chamfer::app::PointcloudChamfer>(args)
        }
        "style-transfer" => sweep::main_with_args::<style_transfer::app::StyleTransfer>(args),
        "mix-match" => sweep::main_with_args::<mix_match::app::MixMatch>(args),
        _ => return None,
    };
    Some(code)
}

/// `zoo devices`: what this build of libtorch reaches (the first line of `just gpu-check`).
fn devices() -> ExitCode {
    let cuda = tch::Cuda::is_available();
    println!("cuda available: {cuda}");
    println!("cuda devices: {}", tch::Cuda::device_count());
    println!("cudnn available: {}", tch::Cuda::cudnn_is_available());
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: zoo <app> <command> [args]   (an app's own --help lists its commands)\n       zoo devices\napps: {}",
        APPS.join(", ")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // Called through a link named after an app: that app, with the arguments as they are.
    let called = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("zoo")
        .to_string();
    if let Some(code) = run(&called, args.clone()) {
        return code;
    }
    let Some(app) = args.get(1).and_then(|a| a.to_str()).map(str::to_string) else {
        return usage();
    };
    if app == "devices" {
        return devices();
    }
    // `zoo face-verify train …` is `face-verify train …`.
    run(&app, args[1..].to_vec()).unwrap_or_else(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_app_crate_of_the_workspace_is_dispatched() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        for app in APPS {
            assert!(
                manifest.contains(&format!("\"crates/{app}\"")),
                "{app} is not a workspace member"
            );
        }
        let apps = std::fs::read_dir(root.join("crates"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("src/app.rs").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "kit" && n != "new-app");
        for name in apps {
            assert!(
                APPS.contains(&name.as_str()),
                "zoo does not dispatch {name}"
            );
        }
    }

    #[test]
    fn gpu_check_without_a_gpu_says_what_it_would_run_and_exits_0() {
        let gpu = std::process::Command::new("nvidia-smi")
            .arg("-L")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("GPU"));
        if gpu {
            return; // the real check runs here: `just gpu-check`
        }
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tools/device/gpu-check.sh");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("nothing ran") && text.contains("every app's smoke config"),
            "{text}"
        );
    }
}
