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
    constants = {i.name for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    readers: dict[str, list] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            readers[name].append(node)

    folded: dict[int, onnx.NodeProto] = {}  # the bias Add it replaces -> the new node
    gone: set[int] = set()
    for node in graph.node:
        rounded = producer.get(node.input[0]) if node.op_type == "Shape" else None
        if _dequantized(rounded) and rounded.input[0] in producer:  # read the float instead
            node.input[0] = producer[rounded.input[0]].input[0]
        if node.op_type != "MatMul":
            continue
        a, b = (producer.get(name) for name in node.input)
        users = readers[node.output[0]]
        if not (_dequantized(a) and _dequantized(b) and b.input[0] in constants):
            continue
        if len(users) != 1 or users[0].op_type != "Add":
            continue
        (bias,) = [name for name in users[0].input if name != node.output[0]] or [None]
        if bias not in constants:
            continue
        folded[id(users[0])] = helper.make_node(
            "MatMulIntegerToFloat",
            [a.input[0], b.input[0], a.input[1], b.input[1], a.input[2], b.input[2], bias],
            list(users[0].output),
            name=f"{node.name}_with_bias",
            domain="com.microsoft",
        )
        gone.add(id(node))
    nodes = [folded.get(id(n), n) for n in graph.node if id(n) not in gone]
    while dead := [n for n in nodes if _quantizing(n) and not _read(n, nodes, graph)]:
        nodes = [n for n in nodes if n not in dead]
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


def _dequantized(node) -> bool:
    return node is not None and node.op_type == "DequantizeLinear"


def _quantizing(node) -> bool:
    return node.op_type in ("QuantizeLinear", "DequantizeLinear")


def _read(node, nodes: list, graph) -> bool:
    """Whether anything reads `node`'s output: another node or the graph's outputs."""
    wanted = set(node.output)
    return any(wanted & set(n.input) for n in nodes) or any(o.name in wanted for o in graph.output)


if __name__ == "__main__":
    print(f"folded {fold_biases(Path(sys.argv[1]), Path(sys.argv[2]))} products with their bias")
