//! detect-focal: a RetinaNet-style single-stage detector trained with sigmoid focal loss.
//! [`config`] (typed YAML), [`synth`] (synthetic shape scenes, from the `scenes` crate), [`data`]
//! (datasets and batch targets), [`coco`] (COCO JSON read / write), [`coco_tree`] (COCO's own tree, held-out validation), [`yolo`] (YOLO labels), [`voc`] (Pascal VOC), [`boxes`] (anchors, box coding,
//! matching, NMS; from the `scenes` crate), [`model`] (backbone + FPN + heads), [`train`] (the task
//! in kit's loop), [`eval`] (COCO AP, pictures, the γ table), [`predict`], [`app`] (the shared
//! command line's hooks).

pub mod app;
/// Anchors, box coding, matching and NMS (from the shared `scenes` crate).
pub use scenes::boxes;
pub mod coco;
pub mod coco_tree;
pub mod config;
pub mod data;
pub mod eval;
pub mod model;
pub mod predict;
pub mod synth;
pub mod train;
pub mod voc;
pub mod yolo;
