//! Synthetic scenes of shapes for the detection-style apps: the seeded renderer (image, boxes,
//! classes and per-pixel object mask, [`render`]) and the box geometry a RetinaNet-style
//! detector needs (anchors, matching, box coding, NMS, post-processing, [`boxes`]), and a batch's anchor targets and COCO collection ([`targets`]).
//! detect-focal trains on the boxes; mix-match also on the masks and the pictures themselves.

pub mod boxes;
pub mod postprocess;
pub mod render;
pub mod targets;
