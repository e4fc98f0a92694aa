//! pointcloud-chamfer: one image → a 3-D point cloud (PSGN, Fan et al. 2017), trained with the
//! Chamfer distance (or Sinkhorn-EMD to compare). [`config`] (typed YAML), [`mesh`] (OFF / OBJ /
//! PLY, surface sampling), [`synth`] (seeded procedural classes), [`render`] (rasteriser), [`data`]
//! (samples, on-disk format), [`meshes`] (mesh folders rendered into samples), [`shapenet`] (ShapeNetCore as downloaded), [`model`] (CNN encoder + FC or folding decoder), [`train`] (the task
//! in kit's loop), [`eval`] (Chamfer-L2, F-score, spacing, baselines), [`predict`] (pictures,
//! .ply), [`app`] (the shared command line's hooks).

pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod mesh;
pub mod meshes;
pub mod model;
pub mod predict;
pub mod render;
pub mod shapenet;
pub mod synth;
pub mod train;
