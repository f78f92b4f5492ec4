from __future__ import annotations

import json
from pathlib import Path

from bot.evaluation import ItemResult, Report, load_items


def test_threads_become_turns_and_questions_stay_questions(tmp_path: Path) -> None:
    file = tmp_path / "mixed.jsonl"
    thread = {
        "id": "t1",
        "lang": "ru",
        "category": "followup",
        "turns": [
            {"question": "как откатить релиз?", "gold_docs": ["a.md"], "must_contain": ["rollback"]},
            {"question": "а до конкретной ревизии?", "gold_docs": ["a.md"], "must_contain": ["REVISION"]},
        ],
    }
    single = {"id": "q1", "question": "hi", "expect": "abstain", "cross_lingual": True}
    file.write_text(json.dumps(thread, ensure_ascii=False) + "\n\n" + json.dumps(single) + "\n")
    items = load_items(file)
    assert [(i.id, i.thread, i.turn, i.lang) for i in items] == [
        ("t1#1", "t1", 0, "ru"),
        ("t1#2", "t1", 1, "ru"),
        ("q1", None, 0, None),
    ]
    assert items[1].must_contain == ["REVISION"] and items[2].cross_lingual


def _result(item, ranked, sources, answer="", abstained=False) -> ItemResult:
    return ItemResult(item, ranked, answer, abstained, False, 10.0, sources=sources)


def test_metrics_report_sources_length_and_follow_ups_apart(tmp_path: Path) -> None:
    file = tmp_path / "t.jsonl"
    turns = [{"question": f"q{i}", "gold_docs": ["g.md"], "must_contain": ["fact"]} for i in range(3)]
    file.write_text(json.dumps({"id": "t", "turns": turns}) + "\n")
    first, second, third = load_items(file)
    report = Report(
        [
            _result(first, ["g.md", "x.md"], ["g.md", "x.md"], "the fact"),
            _result(second, ["x.md", "y.md", "g.md"], ["x.md", "y.md", "g.md"], "no"),
            _result(third, ["x.md", "g.md"], ["x.md"], "a fact here, longer"),
        ]
    )
    m = report.metrics()
    assert m["hit@1"] == 0.333 and m["hit@5"] == 1.0 and m["sources_hit"] == 0.667
    assert m["median_answer_chars"] == len("the fact")  # median of 8, 2 and 19 characters
    assert m["first_turns"]["sources_hit"] == 1.0 and m["first_turns"]["questions"] == 1
    assert m["follow_ups"]["questions"] == 2 and m["follow_ups"]["sources_hit"] == 0.5
    assert m["follow_ups"]["answers_with_facts"] == 0.5 and "cross_lingual" not in m
