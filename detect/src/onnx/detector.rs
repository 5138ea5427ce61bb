//! [`OnnxDetector`]: an ONNX detection model run by ONNX Runtime.

use std::path::Path;

use ort::session::Session;
use ort::value::{Outlet, TensorElementType, TensorRef, ValueType};
use shmproto::{Detection, DetectorInfo};

use super::decode::{decode_end_to_end, decode_rf_detr, Candidate, YoloDecoder};
use super::geometry::Placement;
use super::labels::ClassNames;
use super::metadata::{parse_imgsz, parse_names};
use super::model::{recognise, Layout, ModelFormat, TensorSpec};
use super::nms::{keep_best, suppress};
use super::preprocess::{Normalisation, Preprocessor};
use super::runtime::{environment, find_library};
use crate::choice::OpenOptions;
use crate::detector::{DetectError, DetectSettings, Detector};
use crate::frame::FrameView;

/// A YOLOv8/YOLO11, end-to-end YOLO or RF-DETR model ([`super::model`]) in an ONNX Runtime
/// session, with the buffers it reuses from frame to frame (the input tensor, the resampling
/// tables of the last frame size, the decoder's scratch).
pub struct OnnxDetector {
    session: Session,
    layout: Layout,
    model_name: String,
    names: ClassNames,
    notes: Vec<String>,
    input: Vec<f32>,
    preprocessor: Option<Preprocessor>,
    yolo: YoloDecoder,
    candidates: Vec<Candidate>,
}

impl OnnxDetector {
    /// Loads ONNX Runtime if this process has not ([`super::find_library`] with
    /// `options.onnxruntime`), then the model, recognises its layout and reads its class names
    /// (`options.labels` first, then the model's `names` metadata, then COCO's for a 91-class
    /// RF-DETR, else `class N`).
    pub fn open(model: &Path, options: &OpenOptions) -> Result<OnnxDetector, DetectError> {
        if !model.is_file() {
            return Err(DetectError::Model {
                path: model.display().to_string(),
                problem: "no such file".into(),
            });
        }
        OnnxDetector::open_from(model, options, |builder| builder.commit_from_file(model))
    }

    /// As [`OnnxDetector::open`], from the model's bytes, which the caller read (for example
    /// through a descriptor it checked first, so that the file cannot be swapped between the
    /// check and the load). `model` names it in messages and in [`Detector::info`].
    pub fn open_bytes(
        bytes: &[u8],
        model: &Path,
        options: &OpenOptions,
    ) -> Result<OnnxDetector, DetectError> {
        OnnxDetector::open_from(model, options, |builder| builder.commit_from_memory(bytes))
    }

    fn open_from(
        model: &Path,
        options: &OpenOptions,
        commit: impl FnOnce(&mut ort::session::builder::SessionBuilder) -> ort::Result<Session>,
    ) -> Result<OnnxDetector, DetectError> {
        let library = find_library(options.onnxruntime.as_deref())?;
        let environment = environment(&library)?;
        let path = model.display().to_string();
        let model_error = |problem: String| DetectError::Model {
            path: path.clone(),
            problem,
        };
        let mut builder =
            Session::builder(&environment).map_err(|error| model_error(error.to_string()))?;
        if let Some(threads) = options.threads {
            let thread_error = |error: ort::Error<_>| {
                model_error(format!("cannot use {threads} threads: {error}"))
            };
            builder = builder
                .with_intra_threads(threads.max(1))
                .map_err(thread_error)?
                .with_intra_op_spinning(false)
                .map_err(thread_error)?;
        }
        let session = commit(&mut builder).map_err(|error| model_error(error.to_string()))?;
        let metadata = session
            .metadata()
            .map_err(|error| model_error(format!("cannot read its metadata: {error}")))?;
        let names_metadata = metadata.custom("names");
        let imgsz = metadata.custom("imgsz").as_deref().and_then(parse_imgsz);
        drop(metadata);
        let inputs: Vec<TensorSpec> = session.inputs().iter().map(spec).collect();
        let outputs: Vec<TensorSpec> = session.outputs().iter().map(spec).collect();
        let layout = recognise(&inputs, &outputs, imgsz).map_err(|problem| {
            DetectError::UnsupportedLayout {
                path: path.clone(),
                problem,
            }
        })?;
        let mut notes: Vec<String> = layout.input_size_note.iter().cloned().collect();
        let names = class_names(&layout, options, names_metadata, &path, &mut notes)?;
        Ok(OnnxDetector {
            session,
            layout,
            model_name: model
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or(path),
            names,
            notes,
            input: Vec::new(),
            preprocessor: None,
            yolo: YoloDecoder::new(),
            candidates: Vec::new(),
        })
    }

    pub fn format(&self) -> ModelFormat {
        self.layout.format
    }

    /// The input tensor's `[width, height]`.
    pub fn input_size(&self) -> [u32; 2] {
        self.layout.input_size
    }

    /// What was recognised: the format, the input and output names, the class count.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn class_names(&self) -> &ClassNames {
        &self.names
    }

    /// Assumptions made while opening (a dynamic input size, where the class names came
    /// from), for the caller to log.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Resamples and normalises the frame into the reused input tensor.
    fn prepare_input(&mut self, frame: &FrameView<'_>) -> Result<Placement, DetectError> {
        let image_size = [frame.width(), frame.height()];
        let (placement, normalisation) = match self.layout.format {
            ModelFormat::RfDetr => (
                Placement::stretch(image_size, self.layout.input_size),
                Normalisation::imagenet(),
            ),
            ModelFormat::Yolo | ModelFormat::YoloEndToEnd => (
                Placement::letterbox(image_size, self.layout.input_size),
                Normalisation::UNIT,
            ),
        };
        let preprocessor = match &mut self.preprocessor {
            Some(preprocessor) if *preprocessor.placement() == placement => preprocessor,
            slot => slot.insert(Preprocessor::new(placement, normalisation)),
        };
        self.input.resize(preprocessor.tensor_len(), 0.0);
        preprocessor.run(frame.rgb(), &mut self.input)?;
        Ok(placement)
    }
}

impl Detector for OnnxDetector {
    fn info(&self) -> DetectorInfo {
        DetectorInfo {
            format: self.layout.format.name().into(),
            model: Some(self.model_name.clone()),
        }
    }

    fn detect(
        &mut self,
        frame: &FrameView<'_>,
        settings: &DetectSettings,
    ) -> Result<Vec<Detection>, DetectError> {
        let placement = self.prepare_input(frame)?;
        let [width, height] = self.layout.input_size.map(|side| side as usize);
        let inference = |error: ort::Error| DetectError::Inference(error.to_string());
        let tensor = TensorRef::from_array_view(([1, 3, height, width], &self.input[..]))
            .map_err(inference)?;
        let outputs = self
            .session
            .run(ort::inputs![self.layout.input_name.as_str() => tensor])
            .map_err(inference)?;
        let output = |index: usize| {
            let name = self
                .layout
                .output_names
                .get(index)
                .map_or("", String::as_str);
            let value = outputs
                .get(name)
                .ok_or_else(|| DetectError::Inference(format!("the model produced no {name}")))?;
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(inference)?;
            match shape[..] {
                [1, rows, columns] => Ok((
                    usize::try_from(rows).unwrap_or(0),
                    usize::try_from(columns).unwrap_or(0),
                    data,
                )),
                _ => Err(DetectError::Inference(format!(
                    "{name} has shape {:?}, not [1, _, _]",
                    &shape[..]
                ))),
            }
        };
        let candidates = &mut self.candidates;
        candidates.clear();
        let threshold = settings.score_threshold;
        let decoded = match self.layout.format {
            ModelFormat::Yolo => {
                let (channels, anchors, data) = output(0)?;
                let classes = channels.saturating_sub(4);
                let decoded = self
                    .yolo
                    .decode(data, classes, anchors, threshold, candidates);
                suppress(candidates, settings.iou_threshold, settings.max_detections);
                decoded
            }
            ModelFormat::YoloEndToEnd => {
                let (_, _, data) = output(0)?;
                let decoded = decode_end_to_end(data, threshold, candidates);
                keep_best(candidates, settings.max_detections);
                decoded
            }
            ModelFormat::RfDetr => {
                let (queries, _, boxes) = output(0)?;
                let (_, classes, logits) = output(1)?;
                let input_size = self.layout.input_size;
                let decoded = decode_rf_detr(
                    boxes, logits, queries, classes, input_size, threshold, candidates,
                );
                keep_best(candidates, settings.max_detections);
                decoded
            }
        };
        decoded.map_err(DetectError::Inference)?;
        // A model's output may hold NaN or infinities: such a candidate is no detection (and
        // JSON could not carry it).
        let mut detections: Vec<Detection> = candidates
            .iter()
            .map(|candidate| Detection {
                class_id: candidate.class_id,
                label: self.names.label(candidate.class_id),
                score: candidate.score,
                box_px: placement.box_to_image(candidate.box_input),
                position: None,
                position_missing: None,
            })
            .filter(|detection| {
                detection.score.is_finite() && detection.box_px.iter().all(|v| v.is_finite())
            })
            .collect();
        crate::position::locate_all(frame, &mut detections);
        Ok(detections)
    }
}

/// The class names: the labels file, else the model's `names` metadata, else COCO's for a
/// 91-class RF-DETR, else none (`class N`); where they came from goes into `notes` when it is
/// not obvious.
/// Most classes a model may name (COCO has 91 ids, Objects365 365, LVIS 1203).
const MAX_CLASSES: usize = 100_000;

fn class_names(
    layout: &Layout,
    options: &OpenOptions,
    names_metadata: Option<String>,
    model_path: &str,
    notes: &mut Vec<String>,
) -> Result<ClassNames, DetectError> {
    if let Some(labels_path) = options.labels.as_deref() {
        let labels = ClassNames::read_labels(labels_path)?;
        if let Some(classes) = layout.classes.filter(|&classes| labels.len() > classes) {
            return Err(DetectError::Labels {
                path: labels_path.display().to_string(),
                problem: format!("names {} classes; the model has {classes}", labels.len()),
            });
        }
        return Ok(labels);
    }
    if let Some(text) = names_metadata {
        let names = parse_names(&text).map_err(|error| DetectError::Labels {
            path: format!("{model_path} (its `names` metadata)"),
            problem: format!("{error}; name the classes with a labels file instead"),
        })?;
        // A class id the model cannot produce (or an absurd one: the metadata is the model
        // file's, which may be hostile) would make the name table as long as the id.
        let limit = layout.classes.unwrap_or(MAX_CLASSES).min(MAX_CLASSES);
        if let Some(id) = names.keys().find(|&&id| id as usize >= limit) {
            return Err(DetectError::Labels {
                path: format!("{model_path} (its `names` metadata)"),
                problem: format!(
                    "names class {id}, but the model has {limit} classes; name them with a labels file instead"
                ),
            });
        }
        return Ok(ClassNames::from_map(names));
    }
    if layout.format == ModelFormat::RfDetr && layout.classes == Some(91) {
        notes.push("91 classes and no names: COCO's category names".into());
        return Ok(ClassNames::coco_categories());
    }
    notes.push("the model names no classes: labels are `class N`".into());
    Ok(ClassNames::none())
}

/// An input or output as [`recognise`] reads it.
fn spec(outlet: &Outlet) -> TensorSpec {
    match outlet.dtype() {
        ValueType::Tensor { ty, shape, .. } => TensorSpec {
            name: outlet.name().to_string(),
            shape: shape.to_vec(),
            element: ty.to_string(),
            float32: *ty == TensorElementType::Float32,
        },
        other => TensorSpec {
            name: outlet.name().to_string(),
            shape: Vec::new(),
            element: other.to_string(),
            float32: false,
        },
    }
}
