//! What the ONNX tests share: the real ONNX Runtime library, models written by
//! `make_models.py`, and frames with coloured patches.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use detect::onnx::{find_library, library_cache_dir, test_python_dir, SETUP_SCRIPT};
use detect::{Detection, OpenOptions};

/// The ONNX Runtime library the tests load (`AAA_ONNXRUNTIME`, else the setup script's cache).
/// Missing, the tests fail: CI runs the setup script.
pub fn library() -> PathBuf {
    find_library(None).unwrap_or_else(|error| {
        panic!("{error}\nthe ONNX tests need ONNX Runtime: run {SETUP_SCRIPT} --test")
    })
}

pub fn options() -> OpenOptions {
    OpenOptions {
        onnxruntime: Some(library()),
        labels: None,
        threads: Some(1),
    }
}

/// The models `make_models.py` writes, in a directory removed when this is dropped.
pub struct Models {
    dir: tempfile::TempDir,
}

impl Models {
    /// Runs `make_models.py` with python3 and the `onnx` package the setup script installs.
    /// Checks first that the ONNX Runtime library is there: the setup script's first product.
    pub fn make() -> Models {
        library();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/make_models.py");
        let mut python_path = std::env::var_os("PYTHONPATH")
            .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default();
        if let Some(cache) = library_cache_dir() {
            python_path.insert(0, test_python_dir(&cache));
        }
        let output = Command::new("python3")
            .arg(&script)
            .arg(dir.path())
            .env(
                "PYTHONPATH",
                std::env::join_paths(python_path).expect("a PYTHONPATH"),
            )
            .output()
            .unwrap_or_else(|error| {
                panic!("cannot run python3: {error}; run {SETUP_SCRIPT} --test")
            });
        assert!(
            output.status.success(),
            "{} failed ({}): {}\nthe ONNX tests write their models with the PyPI onnx package: \
             run {SETUP_SCRIPT} --test",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        Models { dir }
    }

    pub fn path(&self, file_name: &str) -> PathBuf {
        self.dir.path().join(file_name)
    }
}

pub const RED: [u8; 3] = [255, 0, 0];
pub const GREEN: [u8; 3] = [0, 255, 0];
pub const BLUE: [u8; 3] = [0, 0, 255];

/// A black RGB8 frame with `patches` (`[x1, y1, x2, y2]` in pixels, colour) painted on it.
pub fn frame_with_patches(width: u32, height: u32, patches: &[([u32; 4], [u8; 3])]) -> Vec<u8> {
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    for &([x1, y1, x2, y2], colour) in patches {
        for y in y1..y2 {
            for x in x1..x2 {
                let at = (y as usize * width as usize + x as usize) * 3;
                rgb[at..at + 3].copy_from_slice(&colour);
            }
        }
    }
    rgb
}

/// Checks the detections against `(label, box)` pairs in any order: same count, each within
/// `tolerance_px` on every edge, each scoring `score` within 0.01.
pub fn assert_found(
    detections: &[Detection],
    expected: &[(&str, [f32; 4])],
    tolerance_px: f32,
    score: f32,
) {
    let describe = || {
        detections
            .iter()
            .map(|d| format!("{:?} {:.3} {:?}", d.label, d.score, d.box_px))
            .collect::<Vec<_>>()
            .join("\n  ")
    };
    assert_eq!(
        detections.len(),
        expected.len(),
        "expected {expected:?}, found:\n  {}",
        describe()
    );
    for (label, box_px) in expected {
        let found = detections.iter().any(|d| {
            d.label == *label
                && (d.score - score).abs() <= 0.01
                && d.box_px
                    .iter()
                    .zip(box_px)
                    .all(|(a, b)| (a - b).abs() <= tolerance_px)
        });
        assert!(found, "no {label:?} at {box_px:?} among:\n  {}", describe());
    }
}
