//! The synthetic scenes: the seeded generator lives in the `scenes` crate (mix-match renders
//! the same scenes, with their masks); this app uses its images, boxes and classes.

pub use scenes::render::{flip_for, hflip, render, Scene, SceneSpec, CLASSES};
