"""Structured logs (structlog) with secrets scrubbed before anything is written."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SECRET_KEYS = re.compile(
    r"(token|secret|password|passwd|api_key|apikey|authorization|credentials|cookie)", re.I
)
_SECRET_VALUES = re.compile(
    r"(opora_[\w-]{20,}|xox[abprs]-[\w-]+|xapp-[\w-]+|sk-[\w-]{8,}|Bearer\s+[\w.~+/-]+=*|Basic\s+[\w+/]+=*|\d{6,}:[\w-]{30,})"
)


def scrub(value: Any) -> Any:
    """Mask values that look like tokens (Slack, OpenAI, bearer/basic auth, Telegram bot tokens)."""
    if isinstance(value, str):
        return _SECRET_VALUES.sub("***", value)
    if isinstance(value, dict):
        return {k: "***" if _SECRET_KEYS.search(str(k)) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(v) for v in value)
    return value


def _scrub_processor(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return scrub(event_dict)


# A logger caches its processors on first use (faster); structlog's capture_logs cannot see cached
# loggers, so the test suite turns this off before anything logs.
CACHE_LOGGERS = True


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Route structlog and the standard library through one renderer, scrubbing secrets."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _scrub_processor,
    ]
    # plain tracebacks: rich's default (with every frame's locals) cost most of a loaded server's CPU
    # and could print secrets held in locals
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=CACHE_LOGGERS,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiosqlite", "alembic.runtime.migration", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
