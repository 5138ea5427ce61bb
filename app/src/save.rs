//! Writing a frozen frame to disk (colour PNG, 16-bit depth PNG, metadata JSON, and its
//! detections when it has some) and reading it back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use shmproto::{FrameMetadata, Geometry};

use crate::detection::record::DetectionsRecord;
use crate::frame::{Frame, FrozenFrame};

/// The files one saved frame consists of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFiles {
    pub color_png: PathBuf,
    /// `None` when the frame had no depth.
    pub depth_png: Option<PathBuf>,
    pub metadata_json: PathBuf,
    /// `<stem>_detections.json`: the frame's detections, thresholds and timings; `None` when
    /// the frame was saved without detections.
    pub detections_json: Option<PathBuf>,
}

impl SavedFiles {
    /// The names a frame gets in `folder`: its number and its capture time (ns since the
    /// epoch), so frames of different sessions, which may share numbers, never overwrite
    /// each other. The detections file takes the frame's stem too, for the same reason.
    pub fn in_folder(
        folder: &Path,
        frame_number: u64,
        capture_wall_ns: u64,
        with_depth: bool,
        with_detections: bool,
    ) -> Self {
        let stem = format!("frame_{frame_number:06}_{capture_wall_ns}");
        SavedFiles {
            color_png: folder.join(format!("{stem}_color.png")),
            depth_png: with_depth.then(|| folder.join(format!("{stem}_depth.png"))),
            metadata_json: folder.join(format!("{stem}_metadata.json")),
            detections_json: with_detections
                .then(|| folder.join(format!("{stem}_detections.json"))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("cannot create the folder {path}: {source}")]
    CreateFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    WriteImage {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the metadata as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the frame's planes do not match its size {width}x{height}")]
    PlaneSize { width: u32, height: u32 },
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    ReadImage {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not frame metadata: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the depth image is {depth:?} but the colour image is {color:?}")]
    SizeMismatch { color: [u32; 2], depth: [u32; 2] },
}

/// Writes `frozen` into `folder` (created if needed), with its `detections` when given, and
/// returns the paths written.
pub fn save_frozen_frame(
    frozen: &FrozenFrame,
    detections: Option<&DetectionsRecord>,
    folder: &Path,
) -> Result<SavedFiles, SaveError> {
    std::fs::create_dir_all(folder).map_err(|source| SaveError::CreateFolder {
        path: folder.to_owned(),
        source,
    })?;
    let geometry = frozen.geometry();
    let files = SavedFiles::in_folder(
        folder,
        frozen.frame_number(),
        frozen.metadata().capture_wall_ns,
        frozen.depth_units().is_some(),
        detections.is_some(),
    );
    let plane_size = SaveError::PlaneSize {
        width: geometry.width,
        height: geometry.height,
    };

    let Some(color) =
        image::RgbImage::from_raw(geometry.width, geometry.height, frozen.rgb().to_vec())
    else {
        return Err(plane_size);
    };
    color
        .save(&files.color_png)
        .map_err(|source| SaveError::WriteImage {
            path: files.color_png.clone(),
            source,
        })?;

    if let (Some(depth_units), Some(depth_png)) = (frozen.depth_units(), &files.depth_png) {
        let Some(depth) = image::ImageBuffer::<image::Luma<u16>, _>::from_raw(
            geometry.width,
            geometry.height,
            depth_units.to_vec(),
        ) else {
            return Err(plane_size);
        };
        depth
            .save(depth_png)
            .map_err(|source| SaveError::WriteImage {
                path: depth_png.clone(),
                source,
            })?;
    }

    let json = serde_json::to_vec_pretty(frozen.metadata())?;
    std::fs::write(&files.metadata_json, json).map_err(|source| SaveError::WriteFile {
        path: files.metadata_json.clone(),
        source,
    })?;
    if let (Some(record), Some(path)) = (detections, &files.detections_json) {
        let json = serde_json::to_vec_pretty(record)?;
        std::fs::write(path, json).map_err(|source| SaveError::WriteFile {
            path: path.clone(),
            source,
        })?;
    }
    tracing::info!(
        "saved frame {} to {}",
        frozen.frame_number(),
        folder.display()
    );
    Ok(files)
}

/// Reads a frame written by [`save_frozen_frame`] (without its publish time, which is not saved).
pub fn load_saved_frame(files: &SavedFiles) -> Result<FrozenFrame, LoadError> {
    let read_image = |path: &Path| {
        image::ImageReader::open(path)
            .map_err(|source| LoadError::ReadFile {
                path: path.to_owned(),
                source,
            })?
            .decode()
            .map_err(|source| LoadError::ReadImage {
                path: path.to_owned(),
                source,
            })
    };
    let color = read_image(&files.color_png)?.into_rgb8();
    let (width, height) = color.dimensions();
    let depth_units = match &files.depth_png {
        Some(path) => {
            let depth = read_image(path)?.into_luma16();
            if depth.dimensions() != (width, height) {
                return Err(LoadError::SizeMismatch {
                    color: [width, height],
                    depth: [depth.width(), depth.height()],
                });
            }
            Some(depth.into_raw())
        }
        None => None,
    };
    let json = std::fs::read(&files.metadata_json).map_err(|source| LoadError::ReadFile {
        path: files.metadata_json.clone(),
        source,
    })?;
    let metadata: FrameMetadata =
        serde_json::from_slice(&json).map_err(|source| LoadError::Json {
            path: files.metadata_json.clone(),
            source,
        })?;
    let geometry = if depth_units.is_some() {
        Geometry::rgbd(width, height)
    } else {
        Geometry::rgb_only(width, height)
    };
    Ok(FrozenFrame::new(Arc::new(Frame {
        frame_number: metadata.frame_number,
        geometry,
        rgb: color.into_raw(),
        depth_units,
        metadata,
        publish_mono_ns: None,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::test_frames::plane_frame;

    #[test]
    fn saved_frame_reads_back_equal() {
        let folder = tempfile::tempdir().unwrap();
        let mut frame = plane_frame(42, 32, 24, 1234);
        // Vary the depth so that byte order mistakes show.
        if let Some(depth) = frame.depth_units.as_mut() {
            for (i, units) in depth.iter_mut().enumerate() {
                *units = (i as u16).wrapping_mul(257);
            }
        }
        frame.publish_mono_ns = None;
        let frozen = FrozenFrame::new(Arc::new(frame));
        let files = save_frozen_frame(&frozen, None, &folder.path().join("sub")).unwrap();
        assert!(files.color_png.exists() && files.metadata_json.exists());
        assert_eq!(files.detections_json, None);
        assert_eq!(load_saved_frame(&files).unwrap(), frozen);
    }
}
