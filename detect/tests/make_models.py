"""Writes small ONNX models in the layouts `detect::onnx` reads, for its tests.

Usage: python3 make_models.py OUTPUT_DIR

Each model cuts its input into a grid of 32x32-pixel cells and scores each cell by its colour:
the cell's mean red, green and blue (as the model sees them, 0..1 after the detector's
normalisation) go through  score_c = relu(c - (sum of the other two) / 2),  so a pure red cell
scores 1 for "red" and 0 for the rest, and black, white or the grey letterbox padding score 0.
The box of each cell is the cell itself. A detector that swaps channels, forgets /255 or the
ImageNet normalisation, or places the letterbox wrongly finds other classes, scores or boxes.

Written with the PyPI `onnx` package only (scripts/setup-onnxruntime.sh --test installs it).
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CELL = 32
OPSET = 17
IR_VERSION = 8

# Class names as Ultralytics writes them (str() of a dict): quotes and backslashes included.
YOLO_NAMES = {0: "rock 'n' roll", 1: 'say "hi"', 2: "back\\slash"}
YOLO_NAMES.update({i: f"filler {i}" for i in range(3, 80)})
YOLO_CLASSES = len(YOLO_NAMES)
# RF-DETR COCO ids of the colours: person, car, toothbrush.
RF_DETR_IDS = {0: 1, 1: 3, 2: 90}
RF_DETR_CLASSES = 91

MIX = np.array([[1, -0.5, -0.5], [-0.5, 1, -0.5], [-0.5, -0.5, 1]], dtype=np.float32)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def colour_scores(nodes, inits, source, rows, columns):
    """Nodes turning `source` [1, 3, H, W] (0..1) into `rgb_scores` [1, 3, rows * columns]."""
    inits += [
        const("mix", MIX.reshape(3, 3, 1, 1)),
        const("flat_shape", np.array([1, 3, rows * columns], dtype=np.int64)),
    ]
    nodes += [
        helper.make_node("AveragePool", [source], ["cells"], kernel_shape=[CELL, CELL], strides=[CELL, CELL]),
        helper.make_node("Conv", ["cells", "mix"], ["mixed"]),
        helper.make_node("Relu", ["mixed"], ["scores_grid"]),
        helper.make_node("Reshape", ["scores_grid", "flat_shape"], ["rgb_scores"]),
    ]


def cell_boxes(rows, columns, corners):
    """[4, rows * columns]: each cell's box in input pixels, cx cy w h or x1 y1 x2 y2."""
    gy, gx = np.meshgrid(np.arange(rows), np.arange(columns), indexing="ij")
    gx, gy = gx.reshape(-1).astype(np.float32), gy.reshape(-1).astype(np.float32)
    if corners:
        return np.stack([gx * CELL, gy * CELL, (gx + 1) * CELL, (gy + 1) * CELL])
    size = np.full_like(gx, CELL)
    return np.stack([gx * CELL + CELL / 2, gy * CELL + CELL / 2, size, size])


def save(graph, path, metadata):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, path)


def ultralytics_metadata(height, width):
    return {"task": "detect", "stride": "32", "names": str(YOLO_NAMES), "imgsz": str([height, width])}


def yolo(path, height=640, width=640, dynamic=False):
    """Ultralytics YOLOv8/YOLO11: images [1, 3, H, W] -> output0 [1, 4 + 80, cells]."""
    rows, columns = height // CELL, width // CELL
    cells = rows * columns
    nodes, inits = [], []
    colour_scores(nodes, inits, "images", rows, columns)
    inits += [
        const("boxes", cell_boxes(rows, columns, corners=False).reshape(1, 4, cells)),
        const("other_scores", np.zeros((1, YOLO_CLASSES - 3, cells), dtype=np.float32)),
    ]
    nodes += [
        helper.make_node("Concat", ["boxes", "rgb_scores", "other_scores"], ["output0"], axis=1),
    ]
    input_shape = [1, 3, "height", "width"] if dynamic else [1, 3, height, width]
    graph = helper.make_graph(
        nodes,
        "yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + YOLO_CLASSES, cells])],
        inits,
    )
    save(graph, path, ultralytics_metadata(height, width))


def yolo_end_to_end(path, size=640):
    """End-to-end YOLO: images [1, 3, S, S] -> output0 [1, cells, 6] (x1 y1 x2 y2 score class)."""
    rows = columns = size // CELL
    cells = rows * columns
    nodes, inits = [], []
    colour_scores(nodes, inits, "images", rows, columns)
    inits += [const("corners", cell_boxes(rows, columns, corners=True).reshape(1, 4, cells))]
    nodes += [
        helper.make_node("ReduceMax", ["rgb_scores"], ["best"], axes=[1], keepdims=1),
        helper.make_node("ArgMax", ["rgb_scores"], ["best_class_i64"], axis=1, keepdims=1),
        helper.make_node("Cast", ["best_class_i64"], ["best_class"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["corners", "best", "best_class"], ["rows_first"], axis=1),
        helper.make_node("Transpose", ["rows_first"], ["output0"], perm=[0, 2, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolo_end_to_end",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, cells, 6])],
        inits,
    )
    save(graph, path, ultralytics_metadata(size, size))


def rf_detr(path, size=320):
    """RF-DETR: input [1, 3, R, R] (ImageNet-normalised) -> dets [1, Q, 4], labels [1, Q, 91]."""
    rows = columns = size // CELL
    cells = rows * columns
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 3, 1, 1)
    # Logits: 4 * score - 2 for the colour's COCO id, -2 elsewhere: sigmoid 0.881 for a cell of
    # pure colour, 0.119 for none; unsaturated, so a wrong normalisation shows in the score.
    weights = np.zeros((RF_DETR_CLASSES, 3, 1, 1), dtype=np.float32)
    for channel, class_id in RF_DETR_IDS.items():
        weights[class_id, channel, 0, 0] = 4.0
    bias = np.full(RF_DETR_CLASSES, -2.0, dtype=np.float32)
    boxes = cell_boxes(rows, columns, corners=False) / size
    nodes, inits = [], []
    inits += [const("std", std), const("mean", mean)]
    # Undo the normalisation the detector must have applied: back to 0..1.
    nodes += [
        helper.make_node("Mul", ["input", "std"], ["times_std"]),
        helper.make_node("Add", ["times_std", "mean"], ["unit"]),
    ]
    colour_scores(nodes, inits, "unit", rows, columns)
    inits += [
        const("to_logits", weights),
        const("logit_bias", bias),
        const("logits_shape", np.array([1, RF_DETR_CLASSES, cells], dtype=np.int64)),
        const("dets_const", boxes.T.reshape(1, cells, 4).astype(np.float32)),
    ]
    nodes += [
        helper.make_node("Conv", ["scores_grid", "to_logits", "logit_bias"], ["logits_grid"]),
        helper.make_node("Reshape", ["logits_grid", "logits_shape"], ["logits_flat"]),
        helper.make_node("Transpose", ["logits_flat"], ["labels"], perm=[0, 2, 1]),
        helper.make_node("Identity", ["dets_const"], ["dets"]),
    ]
    graph = helper.make_graph(
        nodes,
        "rf_detr",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [
            helper.make_tensor_value_info("dets", TensorProto.FLOAT, [1, cells, 4]),
            helper.make_tensor_value_info("labels", TensorProto.FLOAT, [1, cells, RF_DETR_CLASSES]),
        ],
        inits,
    )
    save(graph, path, {})


def classifier(path):
    """A layout no detector reads: image -> logits [1, 3]."""
    nodes = [
        helper.make_node("GlobalAveragePool", ["pixels"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "classifier",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
    )
    save(graph, path, {})


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    yolo(os.path.join(out, "yolo.onnx"))
    # Dynamic height and width; the size comes from imgsz (480 high, 640 wide).
    yolo(os.path.join(out, "yolo_dynamic.onnx"), height=480, width=640, dynamic=True)
    yolo_end_to_end(os.path.join(out, "yolo_end_to_end.onnx"))
    rf_detr(os.path.join(out, "rf_detr.onnx"))
    classifier(os.path.join(out, "classifier.onnx"))


if __name__ == "__main__":
    main()
