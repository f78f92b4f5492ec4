from __future__ import annotations

from pathlib import Path

from rag.ingest import Ingestor
from rag.lexicon import Lexicon, LexiconFiles, aligned_units, learn, lexicon_file
from rag.loaders import FolderLoader
from rag.rerank import RankWeights
from rag.retrieval import Retriever, RetrieverConfig
from rag.sparse import query_vector, term_index
from rag.stores.edge import EdgeStore
from tests.rag.conftest import HashEmbedder, InMemoryCatalog

EN = """# Releases

Helm tracks every release in the cluster.

## Rollback

A release can roll back to a previous revision.

## History

The history of a release lists its revisions.
"""
RU = """# Релизы

Helm отслеживает каждый релиз в кластере.

## Откат

Релиз можно откатить к предыдущей ревизии.

## История

История релиза перечисляет его ревизии.
"""


def _pairs(n: int) -> list[tuple[str, str]]:
    return [(f"docs/{lang}/page{i}.md", text) for i in range(n) for lang, text in (("en", EN), ("ru", RU))]


def test_aligned_units_pair_sections_and_paragraphs_by_order() -> None:
    units = aligned_units(EN, RU)
    assert len(units) == 6  # three sections of two paragraphs each
    ru_terms, en_terms = units[3]
    assert "предыдущ" in ru_terms and "previous" in en_terms and "cluster" not in en_terms
    assert aligned_units(EN, "# Только один раздел\n\nтекст") == []  # outlines differ: nothing aligned


def test_learn_translates_russian_stems_from_a_parallel_pair() -> None:
    lex = learn([*_pairs(3), ("docs/en/only.md", "an english-only page about charts")], min_pair=3)
    assert lex.entries["релиз"][0][0] == "releas"
    assert lex.entries["истор"][0][0] == "histori"
    assert len(lex.entries["релиз"]) <= 2
    assert learn([("docs/en/a.md", EN), ("docs/ru/a.md", RU)]).entries["релиз"][0][0] == "releas"
    assert learn([("docs/en/a.md", EN), ("docs/ru/a.md", "# Один\n\nтекст")]).entries == {}  # unaligned


def test_lexicon_round_trips_and_reloads_when_the_file_changes(tmp_path: Path) -> None:
    file = lexicon_file(tmp_path, "folder:kb")
    Lexicon({"релиз": [("releas", 0.9)]}).save(file)
    files = LexiconFiles(tmp_path)
    assert files.translate("удалить релиз") == {"releas": 0.9}
    Lexicon({"релиз": [("releas", 0.9)], "удал": [("uninstal", 0.5)]}).save(file)
    assert set(files.translate("удалить релиз")) == {"releas", "uninstal"}
    assert LexiconFiles(tmp_path / "missing").translate("релиз") == {}


def test_query_vector_adds_translations_at_their_weight() -> None:
    vec = dict(
        zip(
            query_vector("удалить релиз", {"releas": 0.5, "релиз": 0.5}).indices,
            query_vector("удалить релиз", {"releas": 0.5, "релиз": 0.5}).values,
            strict=True,
        )
    )
    assert vec[term_index("releas")] == 0.5
    assert vec[term_index("релиз")] == 1.0  # a term of the question itself keeps its full weight


async def test_russian_query_finds_english_only_page_through_the_lexicon(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    for i in range(3):
        for lang, text in (("en", EN), ("ru", RU)):
            (kb / "docs" / lang).mkdir(parents=True, exist_ok=True)
            (kb / "docs" / lang / f"page{i}.md").write_text(text)
    (kb / "docs" / "en" / "uninstall.md").write_text(
        "# Uninstall\n\nUninstall keeps the history with a flag.\n"
    )
    store = EdgeStore(tmp_path / "idx")
    await Ingestor(InMemoryCatalog(), HashEmbedder(), store, lexicon_dir=tmp_path / "idx").run(
        FolderLoader(kb, source="folder:kb")
    )
    assert lexicon_file(tmp_path / "idx", "folder:kb").exists()
    lexicon = LexiconFiles(tmp_path / "idx")
    assert "histori" in lexicon.translate("сохранить историю")
    cfg = RetrieverConfig(min_score=0.0)
    plain = Retriever(HashEmbedder(), store, cfg)
    expanded = Retriever(HashEmbedder(), store, cfg, lexicon=lexicon)
    sparse = await expanded.store.sparse_query(expanded.sparse_query("сохранить историю"), limit=20)
    assert "docs/en/uninstall.md" in {h.chunk.path for h in sparse}
    before = await plain.store.sparse_query(plain.sparse_query("сохранить историю"), limit=20)
    assert "docs/en/uninstall.md" not in {h.chunk.path for h in before}
    off = Retriever(
        HashEmbedder(), store, RetrieverConfig(weights=RankWeights(translated=0.0)), lexicon=lexicon
    )
    assert off.sparse_query("сохранить историю") == plain.sparse_query("сохранить историю")
    await store.close()


def test_borrowed_russian_words_reach_the_english_vocabulary() -> None:
    from rag.lexicon import TRANSLIT_SCORE, Lexicon
    from rag.translit import Vocabulary

    vocab = Vocabulary(["render", "deploy", "manifest", "chart", "linter", "nest", "mysql"])
    assert vocab.match("отрендер") == ("render",)  # от- + рендер
    assert vocab.match("задепло") == ("deploy",)  # prefix of a longer stem
    assert vocab.match("манифест") == ("manifest",) and vocab.match("линтер") == ("linter",)
    assert vocab.match("мысл") == ()  # too short to guess
    lex = Lexicon({"релиз": [("releas", 0.9)]}, frozenset({"render", "template"}))
    got = lex.translate("как отрендерить релиз")
    assert got == {"releas": 0.9, "render": TRANSLIT_SCORE}
    assert lex.translations("отрендерить")["отрендер"] == frozenset({"render"})
