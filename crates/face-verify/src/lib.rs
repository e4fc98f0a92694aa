//! face-verify: face embeddings trained with ArcFace (+ CosFace, a softmax baseline) on known
//! identities, then verification of people never seen in training by cosine similarity.
//! [`config`] (typed YAML), [`synth`] (seeded synthetic people), [`data`] (synthetic sets, image
//! folders, pairs files), [`model`] (ResNet embedder + margin head), [`train`] (the task in kit's
//! loop), [`eval`] (ROC-AUC, EER, TAR@FAR, k-fold accuracy), [`predict`] (pairs of pictures),
//! [`app`] (the shared command line's hooks).

pub mod app;
pub mod config;
pub mod data;
pub mod eval;
pub mod model;
pub mod predict;
pub mod synth;
pub mod train;
