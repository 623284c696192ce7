"""The export step that folds int8 products with their bias changes how a graph runs, not what
it computes: a small two-layer network, statically quantized as `make model` does it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

from classifiers.training.export import fold_biases

WIDE = 16


def _network(path: Path) -> None:
    """x -> MatMul + bias -> Relu -> MatMul + bias -> y; the shape of the hidden layer; and
    z, a product plus a scalar, which is no bias of one value per column."""
    rng = np.random.default_rng(7)
    weights = {
        "w1": rng.normal(size=(WIDE, WIDE)).astype(np.float32),
        "b1": rng.normal(size=WIDE).astype(np.float32),
        "w2": rng.normal(size=(WIDE, 3)).astype(np.float32),
        "b2": rng.normal(size=3).astype(np.float32),
        "w3": rng.normal(size=(WIDE, 3)).astype(np.float32),
        "offset": np.array(0.5, dtype=np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="dense1"),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h"]),
        helper.make_node("MatMul", ["h", "w2"], ["y0"], name="dense2"),
        helper.make_node("Add", ["b2", "y0"], ["y"]),  # the bias first, as exports may have it
        helper.make_node("Shape", ["h"], ["shape"]),
        helper.make_node("MatMul", ["x", "w3"], ["z0"], name="dense3"),
        helper.make_node("Add", ["z0", "offset"], ["z"]),
    ]
    graph = helper.make_graph(
        nodes,
        "two_layers",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", WIDE])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3]),
            helper.make_tensor_value_info("shape", TensorProto.INT64, [2]),
            helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 3]),
        ],
        [numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


class _Inputs(CalibrationDataReader):
    def __init__(self, rows: np.ndarray) -> None:
        self.rows = iter(rows)

    def get_next(self):
        row = next(self.rows, None)
        return None if row is None else {"x": row[None, :]}


def _run(path: Path, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


def test_folding_biases_keeps_every_number_and_drops_the_separate_adds(tmp_path):
    fp32, qdq, folded = tmp_path / "fp32.onnx", tmp_path / "qdq.onnx", tmp_path / "folded.onnx"
    _network(fp32)
    rng = np.random.default_rng(11)
    quantize_static(
        str(fp32),
        str(qdq),
        _Inputs(rng.normal(size=(50, WIDE)).astype(np.float32)),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_quantize=["dense1", "dense2", "dense3"],
        extra_options={"OpTypesToExcludeOutputQuantization": ["MatMul"]},
    )

    assert fold_biases(qdq, folded) == 2

    graph = onnx.load(str(folded)).graph
    kinds = [node.op_type for node in graph.node]
    assert kinds.count("MatMulIntegerToFloat") == 2
    assert kinds.count("MatMul") == kinds.count("Add") == 1  # dense3 and its scalar, as they were
    assert next(n for n in graph.node if n.op_type == "Shape").input == ["h"]  # the float
    x = rng.normal(size=(9, WIDE)).astype(np.float32)
    want, got = _run(qdq, x), _run(folded, x)
    for name, expected, actual in zip(("y", "shape", "z"), want, got, strict=True):
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6, err_msg=name)
    assert got[1].tolist() == [9, WIDE]
    assert np.abs(got[0] - _run(fp32, x)[0]).max() < 0.5  # still the network, in int8
