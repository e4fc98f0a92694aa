//! pointcloud-chamfer: one image → a 3-D point cloud with the Chamfer distance. The commands
//! come from `kit::cli`.

fn main() -> std::process::ExitCode {
    sweep::main::<pointcloud_chamfer::app::PointcloudChamfer>()
}
