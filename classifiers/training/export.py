"""From the trained network to the shipped file: fp32 ONNX, static int8, biases folded.

Run by `classifiers.training.train`; `fold_biases` also runs on its own over a file that
static quantization wrote (python -m classifiers.training.export QDQ.onnx OUT.onnx), for
it changes how the graph runs, never what it computes.
"""

from __future__ import annotations

import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np


def export(net, trace: tuple, calibration: list[list[int]], target: Path) -> dict:
    """Write `net` to `target` in int8; `trace` is an example (ids, mask) pair and
    `calibration` the token ids of texts that fix the activation ranges."""
    folder = Path(tempfile.mkdtemp(prefix="upside-model-"))
    fp32, qdq = folder / "fp32.onnx", folder / "qdq.onnx"
    export_fp32(net, trace, fp32)
    quantize(fp32, qdq, calibration)
    fold_biases(qdq, target)
    return {"fp32_mb": fp32.stat().st_size / 1e6, "int8_mb": target.stat().st_size / 1e6}


def export_fp32(net, trace: tuple, path: Path) -> None:
    """The network with its pooling, head and temperature, as one ONNX graph."""
    import torch

    net.eval()
    torch.onnx.export(
        net,
        trace,
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["embedding", "probabilities"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"},
            "probabilities": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )


def quantize(fp32: Path, target: Path, calibration: list[list[int]]) -> None:
    """Static int8 (QDQ) with fixed activation ranges, so no batch can change a text's scores.

    Quantized: the word embedding table, and the encoder's products with a weight: int8
    weights per channel, uint8 inputs with ranges fixed by calibration (the moving
    average of each text's minimum and maximum, one text per run, so no padding widens
    them); their outputs stay float. Left in float: the attention products of two
    activations, the pooling and the head.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = fp32.with_name("prepared.onnx")
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
    graph = onnx.load(str(prepared)).graph
    weights = {i.name for i in graph.initializer}
    dense = [
        n.name
        for n in graph.node
        if n.op_type == "MatMul"  # the encoder's layers and SentimentNet.fork, its sentiment copy
        and ("/bert/encoder/" in n.name or n.name.startswith("/fork/"))
        and weights & set(n.input)
    ]
    table = [n.name for n in graph.node if n.name.endswith("word_embeddings/Gather")]

    class Texts(CalibrationDataReader):
        def __init__(self) -> None:
            self.rows = iter(calibration)

        def get_next(self):
            row = next(self.rows, None)
            if row is None:
                return None
            ids = np.array([row], np.int64)
            return {"input_ids": ids, "attention_mask": np.ones_like(ids)}

    quantize_static(
        str(prepared),
        str(target),
        Texts(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_quantize=dense + table,
        calibrate_method=CalibrationMethod.MinMax,
        extra_options={
            "CalibMovingAverage": True,
            "OpTypesToExcludeOutputQuantization": ["MatMul"],
        },
    )


def fold_biases(source: Path, target: Path) -> int:
    """Rewrite each int8 product and the bias added to it as one MatMulIntegerToFloat.

    onnxruntime turns a QDQ MatMul into MatMulIntegerToFloat at load but leaves its bias
    as a separate Add, as it does any Shape that reads a dequantized tensor: on two
    cores those extra passes over every activation cost about a tenth of the throughput
    (bench/speed.py). Same inputs, scales and bias, so the same numbers; returns how
    many products were folded.
    """
    import onnx
    from onnx import helper

    model = onnx.load(str(source))
    graph = model.graph
    constants = {i.name: i for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    producer = {out: node for node in graph.node for out in node.output}
    readers: dict[str, list] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            readers[name].append(node)

    folded: dict[str, onnx.NodeProto] = {}  # the bias Add's output -> the node that replaces it
    gone: set[str] = set()  # outputs of the products folded away
    for node in graph.node:
        if node.op_type == "Shape" and (source_float := _float_behind(node.input[0], producer)):
            node.input[0] = source_float
        users = readers[node.output[0]] if node.op_type == "MatMul" else []
        if len(users) != 1 or users[0].op_type != "Add" or node.output[0] in outputs:
            continue
        inputs = _integer_product(node, users[0], producer, constants)
        if inputs is None:
            continue
        folded[users[0].output[0]] = helper.make_node(
            "MatMulIntegerToFloat",
            inputs,
            list(users[0].output),
            name=f"{node.name}_with_bias",
            domain="com.microsoft",
        )
        gone.add(node.output[0])
    nodes = [folded.get(n.output[0], n) for n in graph.node if n.output[0] not in gone]
    while True:  # drop the Q/DQ nodes nothing reads any more, then those they fed
        wanted = outputs | {name for node in nodes for name in node.input}
        dead = {n.output[0] for n in nodes if _quantizing(n) and n.output[0] not in wanted}
        if not dead:
            break
        nodes = [n for n in nodes if n.output[0] not in dead]
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    onnx.save(model, str(target))
    return len(folded)


def _integer_product(matmul, add, producer: dict, constants: dict) -> list[str] | None:
    """MatMulIntegerToFloat's inputs for `matmul` and the `add` of its bias, or None when
    they are not an int8 product of an activation (one scale) and a constant weight
    (one scale per output column) plus a bias of one value per output column."""
    from onnx import numpy_helper

    a, b = (producer.get(name) for name in matmul.input)
    if not (_dequantized(a) and _dequantized(b) and b.input[0] in constants):
        return None
    others = [name for name in add.input if name != matmul.output[0]]
    if len(others) != 1 or others[0] not in constants:
        return None
    columns = constants[b.input[0]].dims[-1]
    if list(constants[others[0]].dims) != [columns]:
        return None
    scales = [
        numpy_helper.to_array(constants[x.input[1]]) for x in (a, b) if x.input[1] in constants
    ]
    attributes = {attr.name: attr.i for attr in b.attribute}
    if len(scales) != 2 or scales[0].size != 1 or attributes.get("block_size"):
        return None
    if scales[1].size != 1 and (
        scales[1].size != columns or attributes.get("axis", 1) not in (1, -1)
    ):
        return None
    zero = [x.input[2] if len(x.input) > 2 else "" for x in (a, b)]
    return [a.input[0], b.input[0], a.input[1], b.input[1], *zero, others[0]]


def _float_behind(name: str, producer: dict) -> str | None:
    """The float tensor that `name` is a quantized-then-dequantized copy of, if it is one."""
    rounded = producer.get(name)
    quantized = producer.get(rounded.input[0]) if _dequantized(rounded) else None
    return (
        quantized.input[0]
        if quantized is not None and quantized.op_type == "QuantizeLinear"
        else None
    )


def _dequantized(node) -> bool:
    return node is not None and node.op_type == "DequantizeLinear"


def _quantizing(node) -> bool:
    return node.op_type in ("QuantizeLinear", "DequantizeLinear")


if __name__ == "__main__":
    print(f"folded {fold_biases(Path(sys.argv[1]), Path(sys.argv[2]))} products with their bias")
