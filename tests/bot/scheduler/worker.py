"""One scheduler replica in its own process, for the kill-the-leader test.

``python -m tests.bot.scheduler.worker <database url> <items> [--kick]``: campaign for the lease; the
``--kick`` replica starts job ``work`` once it leads. ``work`` processes items 0..N-1 from its checkpoint,
writing each item and the checkpoint in one transaction (so an item is done exactly once). In the
``--kick`` replica it stops at item 5 (the test kills that replica there: mid-job, whatever the load).
"""

from __future__ import annotations

import asyncio
import sys

from bot.scheduler import JobContext, PgAdvisoryLease, Scheduler
from storage.db import Database
from storage.models import Setting
from storage.repositories.jobs import get_checkpoint, put_checkpoint


async def main(url: str, items: int, kick: bool) -> None:
    db = Database(url)
    lease = PgAdvisoryLease(url, name="test.lease", retry=0.2, heartbeat=0.2)
    scheduler = Scheduler(db, lease)

    async def work(ctx: JobContext) -> dict[str, int]:
        done = 0
        while True:
            async with db.session() as s:
                at = int(((await get_checkpoint(s, name="work")) or {}).get("next", 0))
                if at >= items:
                    return {"items": done}
                if kick and at == 5:
                    break
                s.add(Setting(key=f"item:{at}", value=scheduler.instance))
                await put_checkpoint(s, name="work", value={"next": at + 1})
            done += 1
            ctx.count("processed")
            await asyncio.sleep(0.05)  # the work an item takes
        await asyncio.Event().wait()  # stuck mid-job until killed
        return {}

    scheduler.add("work", work, minutes=600)
    await scheduler.start()
    if kick:
        await lease.wait_leader()
        await scheduler.run_now("work")
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), "--kick" in sys.argv))
