"""Reading a grounded answer: which passages it cites, and whether it abstained."""

from __future__ import annotations

import re

_CITATION = re.compile(r"\[(\d+(?:\s*[,;–-]\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+")
_RANGE = re.compile(r"(\d+)\s*[–-]\s*(\d+)")
_WORDS = re.compile(r"\w+")


def cited_passages(text: str, count: int) -> tuple[int, ...]:
    """1-based passage numbers cited as [1], [2][3], [1, 2] or [1-3], in order of first mention.

    Numbers outside 1..count (a model inventing sources) are dropped.
    """
    seen: list[int] = []
    for match in _CITATION.finditer(text):
        inner = match.group(1)
        numbers: list[int] = []
        for part in re.split(r"\s*[,;]\s*", inner):
            span = _RANGE.fullmatch(part)
            if span:
                low, high = int(span.group(1)), int(span.group(2))
                numbers.extend(range(low, min(high, low + 20) + 1))
            else:
                numbers.extend(int(n) for n in _NUMBER.findall(part))
        for n in numbers:
            if 1 <= n <= count and n not in seen:
                seen.append(n)
    return tuple(seen)


def is_abstention(text: str, sentence: str) -> bool:
    """The answer is (essentially) the abstention sentence of the prompt, with no citations."""
    words = _WORDS.findall(text.casefold())
    target = _WORDS.findall(sentence.casefold())
    if not target or _CITATION.search(text):
        return False
    return len(words) <= len(target) + 8 and " ".join(target) in " ".join(words)
