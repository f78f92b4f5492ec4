"""Opora with a month of seeded analytics data, for the admin section's browser test and its screenshots.

``python -m tests.analytics.demo_server --port 8766 --data /tmp/x``: the production app (``bot.app``) over
the web chat's sample KB, ``Alice`` is a web chat admin, two prompt variants are configured, and
``tests.analytics.seed.demo_questions`` is written before the server starts. Callers poll ``/readyz``.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import uvicorn

from bot.app import create_app
from bot.config import Settings
from storage.db import Database
from storage.models import utcnow
from tests.analytics.seed import demo_questions, seed
from tests.webchat.sample import make_sample_kb


def settings(data: Path) -> Settings:
    return Settings(
        data_dir=data,
        kb={"paths": [make_sample_kb(data / "kb")]},
        webchat={"admins": ["Alice"], "questions_per_minute": 60},
        providers={"variants": [{"name": "control", "weight": 1.0}, {"name": "concise", "weight": 1.0}]},
        analytics={"gap_min_size": 1},
    )


async def serve(port: int, data: Path) -> None:
    config = settings(data)
    db = Database(config.resolved_database_url)
    await db.migrate()
    await seed(db, demo_questions(), utcnow())
    await db.close()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    await server.serve()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.port, args.data))


if __name__ == "__main__":
    main()
