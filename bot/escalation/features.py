"""Text features for the incident classifier: hashed character and word n-grams.

The e5 embedding (meaning, across languages and paraphrases) is the other half of the input; these
n-grams carry what embeddings blur: negations and qualifiers ("staging", "drill", "не срочно", "lol"),
typos ("прод лижит", "paymnets") and numbers ("5xx", "503").
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from dataclasses import dataclass

import numpy as np

BUCKETS = 1 << 14
_WORD = re.compile(r"[\w']+", re.UNICODE)


def normalize(text: str) -> str:
    """Lower case, ``ё`` → ``е``, runs of whitespace collapsed."""
    return " ".join(text.lower().replace("ё", "е").split())


def _grams(text: str) -> list[str]:
    words = _WORD.findall(normalize(text))
    grams: list[str] = []
    for word in words:
        padded = f" {word} "
        for n in (2, 3, 4, 5):
            if len(padded) < n:
                continue
            grams.extend("c" + padded[i : i + n] for i in range(len(padded) - n + 1))
        grams.append("w" + word)
    grams.extend(f"b{a}_{b}" for a, b in itertools.pairwise(words))
    return grams


def _bucket(gram: str) -> int:
    return zlib.crc32(gram.encode("utf-8")) & (BUCKETS - 1)


@dataclass(frozen=True, slots=True)
class Csr:
    """Rows of a sparse matrix (CSR): ``indptr``, column ``indices`` and ``values``."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def take(self, rows: list[int]) -> Csr:
        parts = [
            (
                self.indices[self.indptr[r] : self.indptr[r + 1]],
                self.values[self.indptr[r] : self.indptr[r + 1]],
            )
            for r in rows
        ]
        lengths = np.array([len(i) for i, _ in parts], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return Csr(indptr, np.concatenate([i for i, _ in parts]), np.concatenate([v for _, v in parts]))

    def dot(self, w: np.ndarray) -> np.ndarray:
        """``X @ w``."""
        row_of = np.repeat(np.arange(self.rows), np.diff(self.indptr))
        return np.bincount(row_of, weights=self.values * w[self.indices], minlength=self.rows)

    def tdot(self, e: np.ndarray) -> np.ndarray:
        """``X.T @ e``."""
        row_of = np.repeat(np.arange(self.rows), np.diff(self.indptr))
        return np.bincount(self.indices, weights=self.values * e[row_of], minlength=BUCKETS)


def ngram_csr(texts: list[str]) -> Csr:
    """``ngram_matrix`` as sparse rows (fitting touches only the few hundred n-grams of each message)."""
    dense = ngram_matrix(texts)
    indptr, indices, values = [0], [], []
    for row in dense:
        nz = np.flatnonzero(row)
        indices.append(nz)
        values.append(row[nz])
        indptr.append(indptr[-1] + len(nz))
    return Csr(
        np.array(indptr, dtype=np.int64), np.concatenate(indices), np.concatenate(values).astype(np.float64)
    )


def ngram_matrix(texts: list[str]) -> np.ndarray:
    """Rows of sublinear-tf hashed n-gram counts, L2-normalised (``len(texts) × BUCKETS`` float32)."""
    out = np.zeros((len(texts), BUCKETS), dtype=np.float32)
    for row, text in enumerate(texts):
        counts: dict[int, int] = {}
        for gram in _grams(text):
            b = _bucket(gram)
            counts[b] = counts.get(b, 0) + 1
        for b, c in counts.items():
            out[row, b] = 1.0 + math.log(c)
        norm = float(np.linalg.norm(out[row]))
        if norm > 0:
            out[row] /= norm
    return out
