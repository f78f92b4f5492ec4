"""The labelled messages the incident classifier is fitted on, and their augmented variants.

``data/incidents_*.txt``: one message a line, ``+`` (an ongoing production incident or urgent risk) or
``-`` (not one). Each message also appears with typos and buried between small talk, in the same
cross-validation group as its original, so a fold never sees a variant of a message it is tested on.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"

_OPENERS = (
    "hi all,",
    "hey folks, sorry for the noise.",
    "morning!",
    "quick one:",
    "hello team.",
    "привет!",
    "всем привет,",
    "коллеги, добрый день.",
    "ребят,",
    "извините, что отвлекаю.",
    "so,",
    "ok",
)
_CLOSERS = (
    "thanks",
    "any ideas?",
    "thx in advance",
    "also, who owns the cron jobs?",
    "btw the wiki search is slow",
    "спасибо",
    "заранее спасибо",
    "есть идеи?",
    "кстати, где ранбуки лежат?",
    "и ещё: кто ревьюит мой MR?",
    "",
)


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: int  # 1: incident
    group: int  # the original message's number (variants share it)


def load_messages(data_dir: Path = DATA_DIR) -> list[tuple[str, int]]:
    """The hand-labelled messages, in file order."""
    found: list[tuple[str, int]] = []
    for path in sorted(data_dir.glob("incidents_*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line[:2] in ("+ ", "- "):
                found.append((line[2:].strip(), 1 if line[0] == "+" else 0))
    return found


def _typo(text: str, rng: random.Random) -> str:
    chars = list(text)
    letters = [i for i, c in enumerate(chars[:-1]) if c.isalpha() and chars[i + 1].isalpha()]
    for i in rng.sample(letters, k=min(2, len(letters))):
        if rng.random() < 0.5:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars[i] = ""
    return "".join(chars)


def _buried(text: str, rng: random.Random) -> str:
    return " ".join(p for p in (rng.choice(_OPENERS), text, rng.choice(_CLOSERS)) if p)


def examples(data_dir: Path = DATA_DIR, *, seed: int = 7, augment: bool = True) -> list[Example]:
    """Every message plus (when ``augment``) one typo variant and one buried variant of it."""
    rng = random.Random(seed)
    out: list[Example] = []
    for group, (text, label) in enumerate(load_messages(data_dir)):
        out.append(Example(text, label, group))
        if augment:
            out.append(Example(_typo(text, rng), label, group))
            out.append(Example(_buried(text.lower() if rng.random() < 0.3 else text, rng), label, group))
    return out


def two_folds(items: list[Example], *, seed: int = 11) -> tuple[list[int], list[int]]:
    """Indices of two folds, split by group and stratified by label."""
    rng = random.Random(seed)
    fold: dict[int, int] = {}
    for label in (0, 1):
        groups = sorted({e.group for e in items if e.label == label})
        rng.shuffle(groups)
        for i, g in enumerate(groups):
            fold[g] = i % 2
    a = [i for i, e in enumerate(items) if fold[e.group] == 0]
    b = [i for i, e in enumerate(items) if fold[e.group] == 1]
    return a, b


def load_jsonl(path: Path) -> list[Example]:
    """A labelled evaluation set (``{"text": …, "critical": true|false}`` per line)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Example(r["text"], int(bool(r["critical"])), i) for i, r in enumerate(rows)]
