"""Wiring: settings → database → retrieval → generator → engine → HTTP app and channel adapters.

The composition root: the only module that knows every concrete class. Adapters are found by name
(``adapters.<name>.create(services)``), so the core never imports a platform SDK.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from adapters.api import install_error_handlers, router
from adapters.edge import install_edge
from bot.cache_store import SqlCacheStore
from bot.commands import Commands
from bot.config import REPO_ROOT, Settings
from bot.engine import Engine
from bot.escalation import CriticalDetector, Escalator, LogEscalator
from bot.extractive import ExtractiveGenerator
from bot.generation import AnswerGenerator
from bot.indexing import IndexStatus
from bot.ingest_job import run_ingest
from bot.llm_answer import LLMAnswerGenerator
from bot.retrieval_cache import CachedRetriever
from bot.services import Channel, Services
from rag.factory import build_embedder, build_retriever, build_store
from storage.db import Database

log = structlog.get_logger(__name__)
CHANNELS = ("webchat", "slack", "telegram", "mattermost")


def build_generator(settings: Settings, db: Database) -> AnswerGenerator:
    """The LLM generator (extractive fallback inside) when a provider is configured, else extractive."""
    extractive = ExtractiveGenerator(
        passages=settings.answer.extractive_passages, budget=settings.answer.extractive_budget
    )
    llm = LLMAnswerGenerator.from_settings(settings, fallback=extractive, cache_store=SqlCacheStore(db))
    if llm is None:
        log.info("answers.extractive", reason="no LLM provider has credentials")
        return extractive
    return llm


async def build_services(
    settings: Settings, *, escalator: Escalator | None = None, generator: AnswerGenerator | None = None
) -> Services:
    """Everything the adapters need, connected and migrated. Close with ``close_services``."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    await db.migrate()
    embedder = build_embedder(settings)
    store = build_store(settings)
    retriever = CachedRetriever(
        await build_retriever(settings, embedder=embedder, store=store),
        size=settings.retrieval.cache_size,
        ttl=settings.retrieval.cache_ttl,
    )
    index = IndexStatus()
    engine = Engine(
        db=db,
        retriever=retriever,
        generator=generator or build_generator(settings, db),
        escalator=escalator or LogEscalator(),
        detector=(
            CriticalDetector(settings.escalation.phrases, settings.escalation.patterns)
            if settings.escalation.enabled
            else None
        ),
        index=index,
        max_question_chars=settings.answer.max_question_chars,
        history_turns=settings.answer.history_turns,
        top_k=settings.retrieval.top_k,
        default_lang=settings.answer.default_lang,
        contact=settings.escalation.contact,
    )
    return Services(
        settings=settings,
        db=db,
        engine=engine,
        commands=Commands(engine),
        index=index,
        extras={"store": store, "embedder": embedder, "retriever": retriever},
    )


async def close_services(services: Services) -> None:
    generator_closer = getattr(services.engine.generator, "aclose", None)
    if generator_closer is not None:
        await generator_closer()
    store = services.extras.get("store")
    if store is not None:
        await store.close()
    embedder = services.extras.get("embedder")
    for name in ("aclose", "close"):
        closer = getattr(embedder, name, None)
        if closer is not None:
            result = closer()
            if hasattr(result, "__await__"):
                await result
            break
    await services.db.close()


def load_channels(services: Services, names: tuple[str, ...] = CHANNELS) -> list[Channel]:
    channels: list[Channel] = []
    for name in names:
        try:
            module = importlib.import_module(f"adapters.{name}")
        except ImportError as exc:
            log.warning("channel.unavailable", channel=name, error=str(exc))
            continue
        channel = module.create(services)
        if channel is not None:
            channels.append(channel)
    return channels


def create_app(settings: Settings | None = None, *, channels: tuple[str, ...] = CHANNELS) -> FastAPI:
    """The Opora HTTP app; services are built on startup and closed on shutdown."""
    settings = settings or Settings()
    background: set[asyncio.Task[Any]] = set()
    started: list[Channel] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings)
        for channel in load_channels(services, channels):
            if channel.router is not None:
                app.include_router(channel.router)
            try:
                await channel.start()
                started.append(channel)
                log.info("channel.started", channel=channel.name)
            except Exception:  # one broken messenger must not take the others down
                log.exception("channel.failed", channel=channel.name)
        _mount_static(app, settings)
        app.state.services = services
        if settings.kb.ingest_on_start and settings.kb.paths:
            task = asyncio.create_task(run_ingest(services, settings.kb.paths), name="ingest")
            background.add(task)
            task.add_done_callback(background.discard)
        log.info("app.ready", host=settings.server.host, port=settings.server.port)
        try:
            yield
        finally:
            for task in list(background):
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            for channel in started:
                try:
                    await channel.stop()
                except Exception:  # stopping is best effort
                    log.exception("channel.stop_failed", channel=channel.name)
            await close_services(services)

    app = FastAPI(
        title="Opora",
        version="0.1.0",
        description="Answers developers' questions from the company's documentation, with sources.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_edge(
        app,
        forwarded_allow_ips=settings.server.forwarded_allow_ips or settings.webchat.trusted_proxies,
        max_body_bytes=settings.api.max_body_bytes,
    )
    app.include_router(router)
    return app


def _mount_static(app: FastAPI, settings: Settings) -> None:
    static = settings.webchat.static_dir or REPO_ROOT / "webchat" / "dist"
    if settings.webchat.enabled and Path(static, "index.html").is_file():
        app.mount("/", StaticFiles(directory=static, html=True), name="webchat")
    else:
        log.info("webchat.static_missing", path=str(static), hint="make run builds it")
