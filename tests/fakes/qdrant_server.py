"""A fake Qdrant server: the REST calls ``QdrantServerStore.ensure_collection`` makes, recorded.

It speaks Qdrant's HTTP API (``GET /``, ``GET /collections/{name}/exists``, ``PUT /collections/{name}``,
``GET /collections/{name}``, ``PUT /collections/{name}/index``) so the real ``qdrant-client`` talks to it;
a test reads back exactly what a cluster would have been asked to create.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests.fakes.server import AiohttpFake


class FakeQdrantServer(AiohttpFake):
    def __init__(self, *, conflict_on_create: bool = False) -> None:
        self.collections: dict[str, dict[str, Any]] = {}
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.indexes: list[tuple[str, dict[str, Any]]] = []
        self.conflict_on_create = conflict_on_create  # another replica created it first

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.root)
        app.router.add_get("/collections/{name}/exists", self.exists)
        app.router.add_put("/collections/{name}", self.create)
        app.router.add_get("/collections/{name}", self.info)
        app.router.add_put("/collections/{name}/index", self.index)

    @staticmethod
    def ok(result: Any) -> web.Response:
        return web.json_response({"result": result, "status": "ok", "time": 0.0001})

    async def root(self, request: web.Request) -> web.Response:
        return web.json_response({"title": "qdrant - vector search engine", "version": "1.20.0"})

    async def exists(self, request: web.Request) -> web.Response:
        return self.ok({"exists": request.match_info["name"] in self.collections})

    async def create(self, request: web.Request) -> web.Response:
        name, body = request.match_info["name"], await request.json()
        self.created.append((name, body))
        if self.conflict_on_create:
            self.collections[name] = body
            message = f"Wrong input: Collection `{name}` already exists!"
            return web.json_response({"status": {"error": message}, "time": 0.0}, status=409)
        self.collections[name] = body
        return self.ok(True)

    async def info(self, request: web.Request) -> web.Response:
        body = self.collections.get(request.match_info["name"])
        if body is None:
            return web.json_response({"status": {"error": "Not found"}, "time": 0.0}, status=404)
        params = {
            "vectors": body.get("vectors"),
            "sparse_vectors": body.get("sparse_vectors"),
            "shard_number": body.get("shard_number", 1),
            "replication_factor": body.get("replication_factor", 1),
            "write_consistency_factor": body.get("write_consistency_factor", 1),
            "on_disk_payload": body.get("on_disk_payload", True),
        }
        return self.ok(
            {
                "status": "green",
                "optimizer_status": "ok",
                "segments_count": 1,
                "points_count": 0,
                "indexed_vectors_count": 0,
                "config": {
                    "params": params,
                    "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000},
                    "optimizer_config": {
                        "deleted_threshold": 0.2,
                        "vacuum_min_vector_number": 1000,
                        "default_segment_number": 0,
                        "flush_interval_sec": 5,
                    },
                    "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
                },
                "payload_schema": {},
                "created": time.time(),
            }
        )

    async def index(self, request: web.Request) -> web.Response:
        self.indexes.append((request.match_info["name"], await request.json()))
        return self.ok({"operation_id": len(self.indexes), "status": "completed"})
