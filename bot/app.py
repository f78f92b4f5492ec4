"""Wiring: settings → database → retrieval → generator → engine → HTTP app and channel adapters.

The composition root: the only module that knows every concrete class. Adapters are found by name
(``adapters.<name>.create(services)``), so the core never imports a platform SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from adapters.analytics_api import router as analytics_router
from adapters.api import install_error_handlers, router
from adapters.edge import install_edge
from adapters.escalation_api import router as escalation_router
from bot.analytics.variants import VariantStates
from bot.boosting import Boosts
from bot.cache_store import SqlCacheStore
from bot.commands import Commands
from bot.config import REPO_ROOT, Settings
from bot.confluence_sync import ConfluenceAccess
from bot.engine import Engine
from bot.escalation import CriticalDetector, Escalator
from bot.escalation.capture import CapturedKnowledge
from bot.escalation.wiring import build_escalation, build_second_opinion, build_summariser
from bot.extractive import ExtractiveGenerator
from bot.feedback_learning import FeedbackMemory
from bot.followup import FollowUpSearch, LLMCondenser
from bot.generation import AnswerGenerator
from bot.indexing import IndexStatus
from bot.ingest_job import run_ingest
from bot.leader import Leader
from bot.lexicon_sync import run as sync_lexicons
from bot.llm_answer import LLMAnswerGenerator
from bot.resilience.admission import Admission
from bot.resilience.outbox import Outbox
from bot.resilience.recording import AnswerRecorder
from bot.resilience.search import ResilientRetriever
from bot.retrieval_cache import CachedRetriever
from bot.scheduler import build_scheduler
from bot.scheduler.jobs import register_jobs
from bot.services import Channel, Services
from rag.factory import build_retriever, build_store, start_embedder
from rag.feedback_boost import FeedbackWeights
from rag.types import Embedder
from storage.db import Database

log = structlog.get_logger(__name__)
CHANNELS = ("webchat", "slack", "telegram", "mattermost")


def build_generator(settings: Settings, db: Database) -> AnswerGenerator:
    """The LLM generator (extractive fallback inside) when a provider is configured, else extractive."""
    extractive = ExtractiveGenerator(
        passages=settings.answer.extractive_passages, budget=settings.answer.extractive_budget
    )
    llm = LLMAnswerGenerator.from_settings(
        settings, fallback=extractive, cache_store=SqlCacheStore(db), variant_states=VariantStates(db)
    )
    if llm is None:
        log.info("answers.extractive", reason="no LLM provider has credentials")
        return extractive
    return llm


def build_followups(settings: Settings, generator: AnswerGenerator) -> FollowUpSearch:
    """Follow-ups are fused offline; the LLM condenses them first when one answers (``bot.followup``)."""
    cfg = settings.ranking.followup
    router = getattr(generator, "router", None) if cfg.llm else None
    condenser = LLMCondenser(router, timeout=cfg.llm_timeout) if router is not None else None
    return FollowUpSearch(
        thread_weight=cfg.thread_weight,
        margin=cfg.margin,
        gate_best=cfg.gate_best,
        gate_margin=cfg.gate_margin,
        condenser=condenser,
    )


def build_boosts(settings: Settings, db: Database, embedder: Embedder) -> Boosts:
    """The asker's role and the stored votes as bounded page boosts (``bot.boosting``)."""
    fb = settings.ranking.feedback
    memory = None
    if fb.enabled:
        weights = FeedbackWeights(fb.weight, fb.max_boost, fb.half_life_days, fb.min_similarity)
        memory = FeedbackMemory(db, embedder, weights, refresh_seconds=fb.refresh_seconds)
    return Boosts(role_boost=settings.ranking.roles.boost, feedback=memory)


async def build_services(
    settings: Settings, *, escalator: Escalator | None = None, generator: AnswerGenerator | None = None
) -> Services:
    """Everything the adapters need, connected and migrated. Close with ``close_services``."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    res, dbs = settings.resilience, settings.database
    db = Database(
        settings.resolved_database_url,
        pool_size=dbs.pool_size,
        max_overflow=dbs.max_overflow,
        pool_timeout=res.db_pool_timeout,
        connect_timeout=res.db_connect_timeout,
        busy_timeout=res.sqlite_busy_timeout,
        retry_interval=res.db_retry_interval,
    )
    if dbs.migrate_on_start:
        await db.migrate()  # safe with several replicas: they queue on an advisory lock
    outbox = Outbox(db, size=res.outbox_size, interval=res.db_retry_interval) if res.outbox_size else None
    embedder = await start_embedder(settings)
    store = build_store(settings)
    retriever = ResilientRetriever(
        CachedRetriever(
            await build_retriever(settings, embedder=embedder, store=store),
            size=settings.retrieval.cache_size,
            ttl=settings.retrieval.cache_ttl,
        ),
    )
    index = IndexStatus()
    escalation, http = build_escalation(settings, db)
    generator = generator or build_generator(settings, db)
    llm = getattr(generator, "router", None)  # the provider router; None in extractive mode
    captured = CapturedKnowledge(
        db,
        threshold=settings.escalation.capture_threshold,
        embedder=embedder,
        summarise=build_summariser(settings, llm),
    )
    if settings.escalation.capture:
        await captured.load()
        escalation.on_resolved.append(captured.capture)
    engine = Engine(
        db=db,
        retriever=retriever,
        generator=generator,
        escalator=escalator or escalation,
        detector=build_detector(settings, embedder) if settings.escalation.enabled else None,
        index=index,
        recorder=AnswerRecorder(db, outbox, history_turns=settings.answer.history_turns),
        max_question_chars=settings.answer.max_question_chars,
        history_turns=settings.answer.history_turns,
        top_k=settings.retrieval.top_k,
        passages_per_page=settings.retrieval.max_chunks_per_doc,
        default_lang=settings.answer.default_lang,
        access=ConfluenceAccess(db),
        contact=settings.escalation.contact,
        captured=captured if settings.escalation.capture else None,
        followups=build_followups(settings, generator),
        boosts=build_boosts(settings, db, embedder),
        second_opinion=build_second_opinion(settings, db, llm, escalator or escalation, escalation),
    )
    scheduler = build_scheduler(settings, db)
    services = Services(
        settings=settings,
        db=db,
        engine=engine,
        commands=Commands(engine),
        index=index,
        scheduler=scheduler,
        extras={"store": store, "embedder": embedder, "retriever": retriever, "escalation_http": http},
        admission=Admission(res.max_concurrent_answers, res.answer_queue),
        outbox=outbox,
        # leader-only work follows the scheduler's lease; the scheduler starts it (unless it is disabled)
        leader=Leader(scheduler.lease, start_lease=not settings.scheduler.enabled),
        escalation=escalation,
    )
    register_jobs(services.scheduler, services)
    return services


def build_detector(settings: Settings, embedder: Any = None) -> CriticalDetector:
    """The incident detector; it shares the app's embedder when that is the bundled e5 model."""
    cfg = settings.escalation
    return CriticalDetector(
        cfg.phrases,
        cfg.patterns,
        threshold=cfg.threshold,
        always_page=cfg.always_page,
        never_page=cfg.never_page,
        embedder=embedder,
    )


async def close_services(services: Services) -> None:
    if services.scheduler is not None:
        await services.scheduler.stop()
    await services.leader.stop()
    if services.engine.second_opinion is not None:
        await services.engine.second_opinion.stop()
    if services.engine.captured is not None:
        await services.engine.captured.stop()
    if services.escalation is not None:
        await services.escalation.stop()
    http = services.extras.get("escalation_http")
    if http is not None:
        await http.aclose()
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
    if services.outbox is not None:
        await services.outbox.close()
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
    started: list[Channel] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings)
        await services.leader.start()
        for channel in load_channels(services, channels):
            if channel.router is not None:
                app.include_router(channel.router)
            try:
                await channel.start()
                started.append(channel)
                services.extras.setdefault("channels", {})[channel.name] = channel  # e.g. digest posting
                log.info("channel.started", channel=channel.name)
            except Exception:  # one broken messenger must not take the others down
                log.exception("channel.failed", channel=channel.name)
        _mount_static(app, settings)
        app.state.services = services
        if settings.kb.ingest_on_start and settings.kb.paths:
            # one replica indexes (the leader); the others read the shared index it writes
            services.leader.lead("ingest-on-start", lambda: run_ingest(services, settings.kb.paths))
        if settings.scheduler.enabled and services.scheduler is not None:
            await services.scheduler.start()
        # replicas share the leader's ru→en lexicon files through the database
        lexicons = asyncio.create_task(sync_lexicons(services.db, services.leader, settings.index_path))
        log.info("app.ready", host=settings.server.host, port=settings.server.port)
        try:
            yield
        finally:
            lexicons.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lexicons
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
    app.include_router(analytics_router)
    app.include_router(escalation_router)
    return app


def _mount_static(app: FastAPI, settings: Settings) -> None:
    static = settings.webchat.static_dir or REPO_ROOT / "webchat" / "dist"
    if settings.webchat.enabled and Path(static, "index.html").is_file():
        app.mount("/", StaticFiles(directory=static, html=True), name="webchat")
    else:
        log.info("webchat.static_missing", path=str(static), hint="make run builds it")
