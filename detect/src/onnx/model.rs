//! Which kind of detection model a graph is, from its inputs and outputs (names and shapes as
//! the session reports them), never from its file name.
//!
//! | format            | input          | outputs                                           |
//! |-------------------|----------------|---------------------------------------------------|
//! | `yolo`            | `[1, 3, H, W]` | one `[1, 4 + classes, anchors]` (`output0`)       |
//! | `yolo_end_to_end` | `[1, 3, H, W]` | one `[1, rows, 6]` (`output0`)                    |
//! | `rf_detr`         | `[1, 3, H, W]` | `dets` `[1, queries, 4]`, `labels` `[1, queries, classes]` |
//!
//! All `float32`. An input whose height or width is dynamic takes the `imgsz` metadata, else
//! 640, and says so in [`Layout::input_size_note`].

/// The input side used when a model's input size is dynamic and its metadata gives none.
pub const DEFAULT_INPUT_SIDE: u32 = 640;
/// Largest input side accepted (detection models use 320 to 1280).
pub const MAX_INPUT_SIDE: u32 = 4096;

/// The layouts this crate understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFormat {
    /// Ultralytics YOLOv8/YOLO11 detection: boxes and class scores per anchor, NMS needed.
    Yolo,
    /// End-to-end YOLO (YOLO26, YOLOv10, `nms=True` exports): final boxes.
    YoloEndToEnd,
    /// RF-DETR: normalised boxes and class logits per query.
    RfDetr,
}

impl ModelFormat {
    /// The name in [`shmproto::DetectorInfo::format`].
    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::Yolo => "yolo",
            ModelFormat::YoloEndToEnd => "yolo_end_to_end",
            ModelFormat::RfDetr => "rf_detr",
        }
    }
}

/// A graph input or output: its name, shape (negative: dynamic) and element type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<i64>,
    /// The element type's name as ONNX Runtime reports it (`f32`), or what the value is if
    /// not a tensor.
    pub element: String,
    pub float32: bool,
}

impl std::fmt::Display for TensorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self
            .shape
            .iter()
            .map(|&dim| if dim < 0 { "?".into() } else { dim.to_string() })
            .collect();
        write!(f, "{} [{}] {}", self.name, dims.join(", "), self.element)
    }
}

/// What [`recognise`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub format: ModelFormat,
    pub input_name: String,
    /// `[width, height]` of the input tensor.
    pub input_size: [u32; 2],
    /// Set when the size did not come from the graph (dynamic dimensions).
    pub input_size_note: Option<String>,
    /// YOLO: the single output; RF-DETR: the boxes, then the logits.
    pub output_names: Vec<String>,
    /// The number of classes, when the graph's shapes tell it.
    pub classes: Option<usize>,
}

/// Recognises the layout; the error says what was found and what is supported.
pub fn recognise(
    inputs: &[TensorSpec],
    outputs: &[TensorSpec],
    imgsz: Option<[u32; 2]>,
) -> Result<Layout, String> {
    let unsupported = |why: &str| {
        let list = |specs: &[TensorSpec]| {
            specs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        };
        format!(
            "{why}. Found inputs: {}; outputs: {}. Supported (float32): YOLOv8/YOLO11 (input \
             [1, 3, H, W]; output0 [1, 4 + classes, anchors]), end-to-end YOLO (YOLO26, YOLOv10, \
             nms=True: output0 [1, rows, 6]), RF-DETR (dets [1, queries, 4] and labels \
             [1, queries, classes])",
            list(inputs),
            list(outputs)
        )
    };
    let [input] = inputs else {
        return Err(unsupported("the model does not have exactly one input"));
    };
    let input_ok = input.float32
        && input.shape.len() == 4
        && matches!(input.shape[0], 1 | -1)
        && input.shape[1] == 3;
    if !input_ok {
        return Err(unsupported(
            "the input is not a float32 image batch [1, 3, H, W]",
        ));
    }
    let (input_size, input_size_note) = input_size(input, imgsz);
    // The input tensor is allocated at this size: a hostile model (graph or imgsz metadata)
    // must not make the process allocate without bound.
    if input_size.iter().any(|&side| side > MAX_INPUT_SIDE) {
        return Err(unsupported(&format!(
            "its input is {}x{}; at most {MAX_INPUT_SIDE} pixels a side are supported",
            input_size[0], input_size[1]
        )));
    }
    let rank3_f32 = |spec: &TensorSpec| {
        spec.float32 && spec.shape.len() == 3 && matches!(spec.shape[0], 1 | -1)
    };
    let layout = |format, output_names: Vec<String>, classes| Layout {
        format,
        input_name: input.name.clone(),
        input_size,
        input_size_note: input_size_note.clone(),
        output_names,
        classes,
    };
    match outputs {
        [output] if rank3_f32(output) && output.shape[2] == 6 => Ok(layout(
            ModelFormat::YoloEndToEnd,
            vec![output.name.clone()],
            None,
        )),
        [output] if rank3_f32(output) && output.shape[1] >= 5 => Ok(layout(
            ModelFormat::Yolo,
            vec![output.name.clone()],
            Some(output.shape[1] as usize - 4),
        )),
        [first, second] if rank3_f32(first) && rank3_f32(second) => {
            // By name when the exporter's names are there (needed when there are 4 classes),
            // else the one ending in 4 is the boxes.
            let (boxes, logits) = if first.name == "labels" || second.name == "dets" {
                (second, first)
            } else if first.name == "dets" || second.name == "labels" || first.shape[2] == 4 {
                (first, second)
            } else {
                (second, first)
            };
            let queries_agree =
                boxes.shape[1] < 0 || logits.shape[1] < 0 || boxes.shape[1] == logits.shape[1];
            if boxes.shape[2] != 4 || !queries_agree {
                return Err(unsupported(
                    "two outputs, but not RF-DETR's boxes [1, queries, 4] and logits [1, queries, classes]",
                ));
            }
            let classes = usize::try_from(logits.shape[2]).ok().filter(|&c| c > 0);
            Ok(layout(
                ModelFormat::RfDetr,
                vec![boxes.name.clone(), logits.name.clone()],
                classes,
            ))
        }
        _ => Err(unsupported("the outputs match no supported layout")),
    }
}

/// The input's `[width, height]`: the graph's, else the metadata's, else 640 square.
fn input_size(input: &TensorSpec, imgsz: Option<[u32; 2]>) -> ([u32; 2], Option<String>) {
    let graph =
        [input.shape[3], input.shape[2]].map(|dim| u32::try_from(dim).ok().filter(|&d| d > 0));
    if let [Some(width), Some(height)] = graph {
        return ([width, height], None);
    }
    match imgsz {
        Some(size) => (
            size,
            Some(format!(
                "the model's input size is dynamic; using {}x{} from its imgsz metadata",
                size[0], size[1]
            )),
        ),
        None => (
            [DEFAULT_INPUT_SIDE; 2],
            Some(format!(
                "the model's input size is dynamic and it has no imgsz metadata; using \
                 {DEFAULT_INPUT_SIDE}x{DEFAULT_INPUT_SIDE}"
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, shape: &[i64]) -> TensorSpec {
        TensorSpec {
            name: name.into(),
            shape: shape.to_vec(),
            element: "f32".into(),
            float32: true,
        }
    }

    #[test]
    fn the_three_layouts_are_told_apart_by_shape() {
        let images = [spec("images", &[1, 3, 640, 640])];
        let yolo = recognise(&images, &[spec("output0", &[1, 84, 8400])], None).unwrap();
        assert_eq!((yolo.format, yolo.classes), (ModelFormat::Yolo, Some(80)));
        assert_eq!(yolo.input_size, [640, 640]);
        let e2e = recognise(&images, &[spec("output0", &[1, 300, 6])], None).unwrap();
        assert_eq!(e2e.format, ModelFormat::YoloEndToEnd);
        let rf = recognise(
            &[spec("input", &[1, 3, 560, 560])],
            &[spec("labels", &[1, 300, 91]), spec("dets", &[1, 300, 4])],
            None,
        )
        .unwrap();
        assert_eq!(rf.format, ModelFormat::RfDetr);
        assert_eq!(
            rf.output_names,
            vec!["dets".to_string(), "labels".to_string()]
        );
        assert_eq!(rf.classes, Some(91));
        // Four classes: both outputs end in 4; the names decide.
        let four = recognise(
            &images,
            &[spec("labels", &[1, 300, 4]), spec("dets", &[1, 300, 4])],
            None,
        )
        .unwrap();
        assert_eq!(four.output_names[0], "dets");
    }

    #[test]
    fn dynamic_sizes_fall_back_to_metadata_then_640() {
        let dynamic = [spec("images", &[-1, 3, -1, -1])];
        let outputs = [spec("output0", &[-1, 84, -1])];
        let with_meta = recognise(&dynamic, &outputs, Some([480, 320])).unwrap();
        assert_eq!(with_meta.input_size, [480, 320]);
        assert!(with_meta.input_size_note.unwrap().contains("imgsz"));
        let without = recognise(&dynamic, &outputs, None).unwrap();
        assert_eq!(without.input_size, [640, 640]);
        assert!(without.input_size_note.unwrap().contains("640x640"));
    }

    #[test]
    fn absurd_input_sizes_are_refused_before_anything_is_allocated() {
        let outputs = [spec("output0", &[1, 84, 8400])];
        let huge = [spec("images", &[1, 3, 200_000, 200_000])];
        let error = recognise(&huge, &outputs, None).unwrap_err();
        assert!(error.contains("200000x200000"), "{error}");
        let dynamic = [spec("images", &[-1, 3, -1, -1])];
        assert!(recognise(&dynamic, &outputs, Some([200_000, 200_000])).is_err());
    }

    #[test]
    fn anything_else_says_what_it_found() {
        let error = recognise(
            &[spec("x", &[1, 3, 64, 64])],
            &[spec("logits", &[1, 1000])],
            None,
        )
        .unwrap_err();
        assert!(error.contains("logits [1, 1000] f32"), "{error}");
        assert!(error.contains("x [1, 3, 64, 64]"), "{error}");
        assert!(error.contains("RF-DETR"), "{error}");
        let grey = recognise(&[spec("x", &[1, 1, 64, 64])], &[], None).unwrap_err();
        assert!(grey.contains("[1, 3, H, W]"), "{grey}");
        let mut half = spec("images", &[1, 3, 640, 640]);
        half.float32 = false;
        assert!(recognise(&[half], &[spec("output0", &[1, 84, 8400])], None).is_err());
    }
}
