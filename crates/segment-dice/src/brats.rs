//! BraTS 2021 as downloaded: one folder per case, one 3-D file per modality
//! (`<case>/<case>_{flair,t1,t1ce,t2}.nii.gz`) and its `_seg` label file; the modalities read
//! as the channels of one image.

use crate::volumes::{read_image, Case, Image};
use kit::data::DataError;
use std::path::{Path, PathBuf};

/// BraTS 2021's modality files, in the channel order of the Decathlon's Task01 (FLAIR, T1w,
/// T1gd, T2w), so a model reads either layout alike.
pub const BRATS_MODALITIES: [&str; 4] = ["flair", "t1", "t1ce", "t2"];

/// BraTS 2021 case folders under `dir`: `<case>/<case>_{flair,t1,t1ce,t2}.nii.gz` and
/// `<case>_seg.nii.gz` (the label; absent for unlabelled cases).
pub(crate) fn brats_cases(dir: &Path) -> Vec<Case> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    folders.sort();
    folders
        .into_iter()
        .filter_map(|f| {
            let name = f.file_name()?.to_string_lossy().into_owned();
            let file = |m: &str| {
                ["nii.gz", "nii"]
                    .iter()
                    .map(|e| f.join(format!("{name}_{m}.{e}")))
                    .find(|p| p.is_file())
            };
            let modalities: Vec<PathBuf> =
                BRATS_MODALITIES.iter().filter_map(|m| file(m)).collect();
            let label = file("seg").unwrap_or_else(|| f.join(format!("{name}_seg.nii.gz")));
            (modalities.len() == BRATS_MODALITIES.len()).then(|| Case {
                image: modalities[0].clone(),
                label: Some(label),
                modalities,
                name: name.clone(),
            })
        })
        .collect()
}

/// A case's image: its 4-D file, or its modality files stacked as channels (each 3-D, all of
/// one size), keeping `channels` (all when `None`).
pub fn read_case_image(case: &Case, channels: Option<&[usize]>) -> Result<Image, DataError> {
    if case.modalities.is_empty() {
        return read_image(&case.image, channels);
    }
    let keep: Vec<usize> =
        channels.map_or_else(|| (0..case.modalities.len()).collect(), <[usize]>::to_vec);
    let mut out: Option<Image> = None;
    for &c in &keep {
        let path = case.modalities.get(c).ok_or_else(|| DataError::Invalid {
            path: case.image.clone(),
            message: format!(
                "case {} has {} modality files, but data.volumes.channels asks for index {c}",
                case.name,
                case.modalities.len()
            ),
        })?;
        let img = read_image(path, None)?;
        match &mut out {
            None => out = Some(img),
            Some(o) if o.dims == img.dims && img.channels == 1 => {
                o.data.extend(img.data);
                o.channels += 1;
            }
            Some(o) => {
                return Err(DataError::Invalid {
                    path: path.clone(),
                    message: format!(
                        "is {:?} × {} but {} is {:?} × 1: a case's modalities must be 3-D \
                         volumes of one size",
                        img.dims,
                        img.channels,
                        case.image.display(),
                        o.dims
                    ),
                })
            }
        }
    }
    out.ok_or_else(|| DataError::Invalid {
        path: case.image.clone(),
        message: "no modality kept (data.volumes.channels is empty)".into(),
    })
}
