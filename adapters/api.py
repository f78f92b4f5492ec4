"""The REST API: ask, feedback, health and readiness, metrics. Routes stay short; errors are JSON."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.api_auth import AskCaller, FeedbackCaller
from bot.analytics.prometheus import refresh_kpis
from bot.errors import NotFound, NotReady, OporaError, Unauthorized
from bot.feedback import record_vote
from bot.resilience.recording import StorageUnavailable
from bot.services import Services
from bot.sessions import resolve_user
from bot.types import Incoming, Platform, SessionKey, UserRef, Vote, VoteSource
from rag.types import VectorStore
from rag.urls import http_url
from storage.db import DatabaseUnavailable

log = structlog.get_logger(__name__)


def get_services(request: Request) -> Services:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise NotReady("Opora is starting.", "Opora запускается.")
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


USER_ID = Field(
    min_length=1,
    max_length=200,
    pattern=r"^[^\x00-\x1f\x7f]+$",  # no control characters (PostgreSQL refuses NUL in text)
    description="Your end user's id; namespaced by the API token (docs/security.md).",
)


class AskCreate(BaseModel):
    text: str = Field(description="The question. Empty or over the configured limit is refused.")
    user_id: str = USER_ID
    session_id: str | None = Field(
        default=None, max_length=128, description="Continue this conversation; omitted: a new one."
    )
    lang: Literal["ru", "en"] | None = None
    role: Literal["default", "frontend", "backend", "devops", "qa"] | None = None


class SourcePublic(BaseModel):
    title: str
    url: str | None
    path: str | None
    score: float
    section: str | None = None
    sections: list[str] = []  # every section of the page the answer drew on
    why: list[str] = []  # what besides the text moved the page (a vote, the asker's role)


class AnswerPublic(BaseModel):
    answer: str
    sources: list[SourcePublic]
    abstained: bool
    escalated: bool
    session_id: str
    message_id: int | None = Field(
        description="The stored answer (vote on it); null while the database is down and the answer "
        "waits in the outbox to be stored."
    )
    latency_ms: int
    lang: str
    notice: str | None = None


class FeedbackCreate(BaseModel):
    message_id: int = Field(description="An answer this user received through this token.")
    user_id: str = USER_ID
    value: Literal[1, -1, 0]
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackPublic(BaseModel):
    ok: bool = True


router = APIRouter()


@router.post("/api/v1/ask", response_model=AnswerPublic, tags=["answers"])
async def ask(body: AskCreate, services: ServicesDep, caller: AskCaller) -> AnswerPublic:
    session_id = body.session_id or uuid.uuid4().hex
    user_id = caller.user_id(body.user_id)
    incoming = Incoming(
        text=body.text,
        user=UserRef(platform=Platform.API, external_id=user_id),
        # the caller's id is part of the key: one user can never continue another's session
        session=SessionKey(platform=Platform.API, channel=user_id, thread=session_id),
        lang=body.lang,
        role=body.role,
    )
    answer = await services.engine.ask(incoming)
    return AnswerPublic(
        answer=answer.text,
        sources=[
            SourcePublic(
                title=s.title,
                url=http_url(s.url),
                path=s.path,
                score=s.score,
                section=s.section,
                sections=list(s.sections),
                why=list(s.why),
            )
            for s in answer.sources
        ],
        abstained=answer.abstained,
        escalated=answer.escalated,
        session_id=session_id,
        message_id=answer.message_id,
        latency_ms=answer.latency_ms,
        lang=answer.lang,
        notice=answer.notice,
    )


@router.post("/api/v1/feedback", response_model=FeedbackPublic, tags=["answers"])
async def feedback(body: FeedbackCreate, services: ServicesDep, caller: FeedbackCaller) -> FeedbackPublic:
    user = UserRef(platform=Platform.API, external_id=caller.user_id(body.user_id))
    owner = await resolve_user(services.db, user)
    # only the answers this user got through this token: others' ids are "not found", revealing nothing
    if await services.history.answer(owner.id, Platform.API, body.message_id) is None:
        raise NotFound(
            f"There is no answer with id {body.message_id}.", f"Ответа с номером {body.message_id} нет."
        )
    vote = Vote(
        message_id=body.message_id,
        user=user,
        value=body.value,
        source=VoteSource.API,
        comment=body.comment,
    )
    await record_vote(services.db, vote)
    return FeedbackPublic()


@router.get("/healthz", tags=["ops"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["ops"])
async def readyz(request: Request) -> JSONResponse:
    """Ready when questions can be answered; ``mode`` says how (``normal`` or ``degraded``) and why.

    ``database``: ``ok``, or ``down`` while writes wait in the outbox; ``search``: ``hybrid``, ``bm25``
    (the dense side failed) or ``down``. 503 only when no question can be answered at all.
    """
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    checks: dict[str, Any] = {}
    serving, degraded = True, []
    try:
        await services.db.ping()
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"down: {type(exc).__name__}"
        degraded.append("database")
        serving = services.outbox is not None and not services.outbox.full
    if services.outbox is not None:
        checks["outbox"] = services.outbox.status()
    store: VectorStore | None = services.extras.get("store")
    if store is not None:
        try:
            checks["vector_store"] = {"status": "ok", "points": await store.count()}
        except Exception as exc:  # readiness reports, it does not raise
            checks["vector_store"] = f"error: {type(exc).__name__}"
            degraded.append("vector_store")
    search = getattr(services.extras.get("retriever"), "mode", "hybrid")
    checks["search"] = search
    if search != "hybrid" and "vector_store" not in degraded:
        degraded.append("search")
    checks["admission"] = services.admission.status()
    checks["index"] = services.index.as_dict()
    if services.scheduler is not None:
        try:
            checks["scheduler"] = await services.scheduler.status()
        except Exception as exc:  # readiness reports, it does not raise
            checks["scheduler"] = f"error: {type(exc).__name__}"
    checks["replica"] = {"id": services.leader.replica, "leader": services.leader.is_leader}
    status = "unavailable" if not serving else "degraded" if degraded else "ok"
    body = {"status": status, "mode": "degraded" if degraded else "normal", "degraded": degraded, **checks}
    return JSONResponse(body, status_code=200 if serving else 503)


@router.get("/metrics", tags=["ops"], include_in_schema=False)
async def metrics(request: Request) -> Response:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is not None:
        await refresh_kpis(services)  # the opora_kpi_* gauges, recomputed at most once a minute
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _lang_of(request: Request) -> str:
    return "ru" if request.headers.get("accept-language", "").lower().startswith("ru") else "en"


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OporaError)
    async def _domain(request: Request, exc: OporaError) -> JSONResponse:
        headers = {}
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            headers["Retry-After"] = str(int(retry_after + 0.999))
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = 'Bearer realm="opora"'
        body = error_body(exc.code, exc.message(_lang_of(request)), message_en=exc.en, message_ru=exc.ru)
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            ru = _lang_of(request) == "ru"
            msg = "Тело запроса — не корректный JSON." if ru else "The request body is not valid JSON."
            return JSONResponse(error_body("bad_json", msg), status_code=400)
        fields = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg")}
            for e in errors
        ]
        summary = "; ".join(f"{f['field'] or 'body'}: {f['problem']}" for f in fields)
        return JSONResponse(error_body("invalid_input", summary, fields=fields), status_code=422)

    @app.exception_handler(DatabaseUnavailable)
    async def _storage_down(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return await _domain(request, StorageUnavailable())

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own refusals (a body it cannot parse: invalid UTF-8, nesting too deep; unknown routes)
        # answer in the same JSON error shape as ours
        ru = _lang_of(request) == "ru"
        if exc.status_code == 400:
            msg = "Тело запроса — не корректный JSON." if ru else "The request body is not valid JSON."
            return JSONResponse(error_body("bad_json", msg), status_code=400)
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        return JSONResponse(
            error_body(code.get(exc.status_code, "http_error"), detail),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("api.unhandled", path=request.url.path)
        ru = _lang_of(request) == "ru"
        msg = "Внутренняя ошибка. Попробуйте ещё раз." if ru else "Internal error. Please try again."
        return JSONResponse(error_body("internal", msg), status_code=500)
