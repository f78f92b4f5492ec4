"""The Qdrant collection layout (shards, replication, on-disk payload) comes from settings and reaches the
server's create-collection request; replicas racing to create the collection all start."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from rag.factory import build_store
from rag.stores.qdrant_server import CollectionLayout, QdrantServerStore
from tests.fakes.qdrant_server import FakeQdrantServer


@pytest.fixture
async def qdrant() -> AsyncIterator[FakeQdrantServer]:
    fake = FakeQdrantServer()
    fake.start_in_thread()  # qdrant-client checks the server version with a blocking call
    yield fake
    fake.stop_thread()


async def test_collection_layout_from_settings_reaches_the_server(qdrant: FakeQdrantServer, tmp_path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        vector_store={
            "kind": "qdrant",
            "url": qdrant.url,
            "collection": "kb",
            "shards": 4,
            "replication_factor": 2,
            "write_consistency_factor": 2,
            "on_disk_payload": True,
        },
    )
    store = build_store(settings)
    assert isinstance(store, QdrantServerStore)
    try:
        await store.ensure_collection(384)
        assert await store.layout_of_collection() == CollectionLayout(4, 2, 2, True)
    finally:
        await store.close()
    (name, body), *_ = qdrant.created
    assert name == "kb"
    assert (body["shard_number"], body["replication_factor"], body["write_consistency_factor"]) == (4, 2, 2)
    assert body["on_disk_payload"] is True
    assert body["vectors"]["dense"]["size"] == 384
    assert {index["field_name"] for _, index in qdrant.indexes} >= {"doc_id"}


async def test_default_layout_is_one_shard_one_copy_payload_on_disk(qdrant: FakeQdrantServer) -> None:
    store = QdrantServerStore(url=qdrant.url, collection="c")
    try:
        await store.ensure_collection(8)
    finally:
        await store.close()
    body = qdrant.created[0][1]
    assert (body["shard_number"], body["replication_factor"], body["on_disk_payload"]) == (1, 1, True)


async def test_losing_the_create_race_to_another_replica_is_not_an_error() -> None:
    fake = FakeQdrantServer(conflict_on_create=True)
    fake.start_in_thread()
    store = QdrantServerStore(url=fake.url, collection="c")
    try:
        await store.ensure_collection(8)  # 409 "already exists": the other replica made it
    finally:
        await store.close()
        fake.stop_thread()
    assert len(fake.created) == 1 and fake.indexes == []
