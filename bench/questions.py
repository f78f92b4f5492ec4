"""Distinct load-test questions: the eval sets' questions and questions made from the KB's headings.

A load bench that cycles a handful of questions measures the retrieval cache, not the server: every
question here is a different string, so each one is embedded, searched and ranked.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT.parent / "shared" / "kb"
EVAL = ROOT.parent / "shared" / "eval"
_HEADING = re.compile(r"^#{1,4}\s+(.+?)\s*#*\s*$", re.M)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_NOISE = re.compile(r"[`*_\[\]{}<>|\\]|\{#[^}]*\}|\(.*?\)")
EN = (
    "How do I {h}?",
    "What is {h}?",
    "Where is {h} described?",
    "Explain {h}, please",
    "{h}: how does it work?",
    "Can you tell me about {h}?",
    "I need help with {h}",
    "Is there a doc on {h}?",
    "Quick question about {h}",
    "What should I know about {h}?",
)
RU = (
    "Как {h}?",
    "Что такое {h}?",
    "Где описано: {h}?",
    "Объясните, пожалуйста: {h}",
    "{h} — как это работает?",
    "Расскажите про {h}",
    "Нужна помощь: {h}",
    "Есть ли документация про {h}?",
    "Короткий вопрос про {h}",
    "Что нужно знать про {h}?",
)


def _headings(kb: Path) -> list[tuple[str, str]]:
    """(heading, lang) of every Markdown heading outside code blocks."""
    found: list[tuple[str, str]] = []
    for path in sorted(kb.rglob("*.md")):
        lang = "ru" if "/ru/" in f"/{path.relative_to(kb).as_posix()}" else "en"
        text = _FENCE.sub("", path.read_text(encoding="utf-8", errors="replace"))
        for match in _HEADING.finditer(text):
            heading = " ".join(_NOISE.sub(" ", match.group(1)).split())
            if 3 <= len(heading) <= 80:
                found.append((heading, lang))
    return found


def _eval_questions(folder: Path) -> list[str]:
    out: list[str] = []
    for file in sorted(folder.glob("*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            for key in ("question", "text", "q"):
                if isinstance(row.get(key), str):
                    out.append(row[key])
                    break
            for turn in row.get("turns") or []:
                if isinstance(turn, str):
                    out.append(turn)
                elif isinstance(turn, dict) and isinstance(turn.get("question") or turn.get("text"), str):
                    out.append(turn.get("question") or turn.get("text"))
    return out


def distinct_questions(
    kb: Path = KB, eval_dir: Path = EVAL, *, seed: int = 15, per_heading: int = 3
) -> list[str]:
    """Every eval question and every heading phrased by ``per_heading`` templates, shuffled, no repeats."""
    rng = random.Random(seed)
    pool = list(_eval_questions(eval_dir)) if eval_dir.is_dir() else []
    for heading, lang in _headings(kb) if kb.is_dir() else []:
        templates = RU if lang == "ru" else EN
        for template in rng.sample(templates, min(per_heading, len(templates))):
            pool.append(template.format(h=heading))
    seen: set[str] = set()
    unique = [q for q in pool if not (q.casefold() in seen or seen.add(q.casefold()))]
    rng.shuffle(unique)
    return unique


if __name__ == "__main__":
    questions = distinct_questions()
    print(len(questions), "distinct questions, e.g.:")
    for q in questions[:10]:
        print(" ", q)
