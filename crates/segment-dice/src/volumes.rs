//! NIfTI volumes on disk (`.nii`, `.nii.gz`, read and written by the `nifti` crate): the
//! Medical Segmentation Decathlon layout (`dataset.json`, `imagesTr/`, `labelsTr/`) or paired
//! `<case>_img.nii.gz` + `<case>_seg.nii.gz`, or BraTS 2021's case folders
//! (`<case>/<case>_{flair,t1,t1ce,t2,seg}.nii.gz`, one file per modality), a fixed split of one
//! collection, images with
//! their modalities and voxel size, labels mapped to classes, label volumes written back.
//! How volumes become slices is in `volume_set`.

use kit::data::DataError;
use ndarray::{Array3, Ix3, Ix4};
use nifti::writer::WriterOptions;
use nifti::{IntoNdArray, NiftiHeader, NiftiObject, ReaderOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::brats::{read_case_image, BRATS_MODALITIES};
pub use crate::volume_set::{assemble, normalise, slice, Open, VolumeInfo, Volumes};

/// One labelled (or, for `predict`, unlabelled) volume on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: String,
    /// The image file (the first modality's when they come one per file).
    pub image: PathBuf,
    pub label: Option<PathBuf>,
    /// One 3-D file per modality, in channel order (BraTS 2021); empty when `image` holds
    /// them all (4-D, modalities last).
    pub modalities: Vec<PathBuf>,
}

/// Whether `path` names a NIfTI-1 file.
pub fn is_nifti(path: &Path) -> bool {
    let n = path.file_name().map(|n| n.to_string_lossy().to_lowercase());
    n.is_some_and(|n| !n.starts_with('.') && (n.ends_with(".nii") || n.ends_with(".nii.gz")))
}

/// The file name without `.nii` / `.nii.gz`.
pub fn stem(path: &Path) -> String {
    let n = path.file_name().unwrap_or_default().to_string_lossy();
    n.strip_suffix(".gz")
        .unwrap_or(&n)
        .strip_suffix(".nii")
        .unwrap_or(&n)
        .to_string()
}

fn nifti_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let io = |source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io)? {
        let p = e.map_err(io)?.path();
        if is_nifti(&p) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Whether a dataset folder holds volumes rather than PNG slices (also true when its
/// `train/` does).
pub fn is_volume_folder(dir: &Path) -> bool {
    dir.join("dataset.json").is_file()
        || dir.join("imagesTr").is_dir()
        || nifti_files(dir).is_ok_and(|f| !f.is_empty())
        || !crate::brats::brats_cases(dir).is_empty()
        || (dir.join("train").is_dir() && is_volume_folder(&dir.join("train")))
}

/// The labelled cases of one collection folder: `dataset.json`'s `training` list, else
/// `imagesTr/<name>` with `labelsTr/<name>`, else `<case>_img` with `<case>_seg` files.
pub fn list_cases(dir: &Path) -> Result<Vec<Case>, DataError> {
    let invalid = |path: &Path, message: String| DataError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let json = dir.join("dataset.json");
    let mut cases = Vec::new();
    if json.is_file() {
        let text = std::fs::read_to_string(&json).map_err(|source| DataError::Io {
            path: json.clone(),
            source,
        })?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| invalid(&json, format!("not valid JSON: {e}")))?;
        let list = v["training"].as_array().ok_or_else(|| {
            invalid(
                &json,
                "has no \"training\" list of {\"image\", \"label\"} (the Decathlon layout)".into(),
            )
        })?;
        for (i, item) in list.iter().enumerate() {
            let get = |key: &str| {
                item[key].as_str().map(|p| dir.join(p)).ok_or_else(|| {
                    invalid(&json, format!("training entry {i} has no \"{key}\" path"))
                })
            };
            let image = get("image")?;
            cases.push(Case {
                name: stem(&image),
                label: Some(get("label")?),
                image,
                modalities: Vec::new(),
            });
        }
    } else if dir.join("imagesTr").is_dir() {
        for image in nifti_files(&dir.join("imagesTr"))? {
            let name = image.file_name().unwrap_or_default();
            cases.push(Case {
                name: stem(&image),
                label: Some(dir.join("labelsTr").join(name)),
                image,
                modalities: Vec::new(),
            });
        }
    } else {
        for image in nifti_files(dir)? {
            let s = stem(&image);
            if let Some(case) = s.strip_suffix("_img") {
                let ext = if image.to_string_lossy().ends_with(".gz") {
                    "nii.gz"
                } else {
                    "nii"
                };
                cases.push(Case {
                    name: case.to_string(),
                    label: Some(dir.join(format!("{case}_seg.{ext}"))),
                    image,
                    modalities: Vec::new(),
                });
            }
        }
        if cases.is_empty() {
            cases = crate::brats::brats_cases(dir);
        }
    }
    if cases.is_empty() {
        return Err(invalid(
            dir,
            "no NIfTI volumes found: expected dataset.json (Decathlon), imagesTr/ + labelsTr/, \
             <case>_img.nii.gz + <case>_seg.nii.gz files, or BraTS 2021 case folders \
             (<case>/<case>_{flair,t1,t1ce,t2,seg}.nii.gz)"
                .into(),
        ));
    }
    for c in &cases {
        for p in std::iter::once(&c.image)
            .chain(&c.label)
            .chain(&c.modalities)
        {
            if !p.is_file() {
                return Err(invalid(p, format!("missing (listed for case {})", c.name)));
            }
        }
    }
    Ok(cases)
}

/// Splits one collection into (train, val, test) by a fixed order of names: the same split
/// for every seed, so runs with different seeds are scored on the same test volumes.
pub fn split(mut cases: Vec<Case>, val: f64, test: f64) -> [Vec<Case>; 3] {
    let key = |c: &Case| {
        c.name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        })
    };
    cases.sort_by_key(key);
    let n = cases.len();
    let n_test = ((n as f64 * test).round() as usize).min(n.saturating_sub(1));
    let n_val = ((n as f64 * val).round() as usize).min(n.saturating_sub(1 + n_test));
    let test_cases = cases.split_off(n - n_test);
    let val_cases = cases.split_off(n - n_test - n_val);
    [cases, val_cases, test_cases]
}

/// An image volume: channels × x × y × z intensities (C order), its voxel size in mm, header.
#[derive(Debug, Clone)]
pub struct Image {
    pub data: Vec<f32>,
    pub channels: usize,
    pub dims: [usize; 3],
    pub spacing: [f64; 3],
    pub header: NiftiHeader,
}

fn read(path: &Path) -> Result<(ndarray::ArrayD<f32>, NiftiHeader), DataError> {
    let bad = |e: nifti::NiftiError| DataError::Invalid {
        path: path.to_path_buf(),
        message: format!("not a readable NIfTI-1 volume: {e}"),
    };
    let obj = ReaderOptions::new().read_file(path).map_err(bad)?;
    let header = obj.header().clone();
    let arr = obj.into_volume().into_ndarray::<f32>().map_err(bad)?;
    Ok((arr, header))
}

/// Voxel size in millimetres from `pixdim` and the header's spatial unit.
fn spacing_mm(h: &NiftiHeader) -> [f64; 3] {
    let scale = match h.xyzt_units & 0x07 {
        1 => 1000.0, // metres
        3 => 0.001,  // micrometres
        _ => 1.0,    // millimetres, or unknown (taken as mm, as nibabel's users do)
    };
    [1, 2, 3].map(|i| (h.pixdim[i].abs() as f64).max(f64::MIN_POSITIVE) * scale)
}

/// Reads a 3-D or 4-D (modalities last) image, keeping `channels` (all when `None`).
pub fn read_image(path: &Path, channels: Option<&[usize]>) -> Result<Image, DataError> {
    let invalid = |message: String| DataError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let (arr, header) = read(path)?;
    let shape = arr.shape().to_vec();
    let arr4 = match shape.len() {
        3 => arr.insert_axis(ndarray::Axis(3)),
        4 => arr,
        5 if shape[3] == 1 => arr.remove_axis(ndarray::Axis(3)),
        _ => {
            return Err(invalid(format!(
                "has shape {shape:?}: expected x × y × z, or x × y × z × modalities"
            )))
        }
    }
    .into_dimensionality::<Ix4>()
    .map_err(|e| invalid(format!("shape {shape:?}: {e}")))?;
    let all = arr4.shape()[3];
    let keep: Vec<usize> = channels.map_or_else(|| (0..all).collect(), <[usize]>::to_vec);
    if let Some(&c) = keep.iter().find(|&&c| c >= all) {
        return Err(invalid(format!(
            "has {all} modalities, but data.volumes.channels asks for index {c}"
        )));
    }
    let dims = [arr4.shape()[0], arr4.shape()[1], arr4.shape()[2]];
    let mut data = Vec::with_capacity(keep.len() * dims.iter().product::<usize>());
    for &c in &keep {
        let plane = arr4.index_axis(ndarray::Axis(3), c);
        data.extend(plane.as_standard_layout().iter().copied());
    }
    if data.iter().any(|v| !v.is_finite()) {
        return Err(invalid("holds NaN or infinite intensities".into()));
    }
    Ok(Image {
        data,
        channels: keep.len(),
        dims,
        spacing: spacing_mm(&header),
        header,
    })
}

/// Reads a label volume of `dims` voxels and maps its values to classes.
pub fn read_labels(
    path: &Path,
    dims: [usize; 3],
    map: Option<&BTreeMap<u32, u8>>,
    classes: i64,
) -> Result<Vec<u8>, DataError> {
    let invalid = |message: String| DataError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let (arr, _) = read(path)?;
    let arr = arr
        .into_dimensionality::<Ix3>()
        .map_err(|_| invalid("a label volume must be 3-D (x × y × z)".into()))?;
    if arr.shape() != dims {
        return Err(invalid(format!(
            "is {:?} voxels but its image is {dims:?}",
            arr.shape()
        )));
    }
    let mut out = Vec::with_capacity(arr.len());
    for &v in arr.as_standard_layout().iter() {
        if v < 0.0 || v.fract() != 0.0 {
            return Err(invalid(format!(
                "holds label {v}: labels are whole numbers ≥ 0"
            )));
        }
        let v = v as u32;
        let class = match map {
            Some(m) => match m.get(&v) {
                Some(&c) => c,
                None if v == 0 => 0,
                None => {
                    return Err(invalid(format!(
                        "holds label {v}, which data.volumes.labels does not map (it maps {:?})",
                        m.keys().collect::<Vec<_>>()
                    )))
                }
            },
            None if (v as i64) < classes => v as u8,
            None => {
                return Err(invalid(format!(
                    "holds label {v} but model.classes = {classes}: map the labels to classes \
                     with data.volumes.labels (BraTS whole tumour: {{1: 1, 2: 1, 4: 1}})"
                )))
            }
        };
        out.push(class);
    }
    Ok(out)
}

/// Writes class labels (x × y × z, C order) as a uint8 NIfTI volume with `reference`'s
/// affine and voxel size, so viewers overlay it on the input.
pub fn write_labels(
    path: &Path,
    labels: &[u8],
    dims: [usize; 3],
    reference: &NiftiHeader,
) -> Result<(), DataError> {
    let arr = Array3::from_shape_vec(dims, labels.to_vec()).map_err(|e| DataError::Invalid {
        path: path.to_path_buf(),
        message: format!("label volume shape: {e}"),
    })?;
    let mut header = reference.clone();
    header.cal_min = 0.0;
    header.cal_max = labels.iter().copied().max().unwrap_or(0) as f32;
    header.intent_code = 1002; // NIFTI_INTENT_LABEL
    WriterOptions::new(path)
        .reference_header(&header)
        .write_nifti(&arr)
        .map_err(|e| DataError::Invalid {
            path: path.to_path_buf(),
            message: format!("cannot write the NIfTI volume: {e}"),
        })
}
