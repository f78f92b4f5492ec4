"""Hostile-input counts for the closing note: per category, inputs tried and inputs handled.

    python -m bench.hostile            # every category
    python -m bench.hostile markup     # some of them

A case is *handled* when the system refuses it cleanly (a 4xx JSON error, a dropped event, an error frame on a
socket that keeps working) or renders it inert (escaped markup, an unlinked URL, injected text kept inside
the passage fence, no secret or system prompt in what reaches the provider or the user). The checks are the
ones ``tests/hostile/test_hostile.py`` asserts; see ``tests/hostile/suite.py``.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import structlog

from tests.hostile.suite import CATEGORIES, Outcome


async def main(names: list[str]) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    logging.disable(logging.CRITICAL)
    outcomes: list[Outcome] = []
    for name in names or list(CATEGORIES):
        outcomes.append(await CATEGORIES[name]())
    width = max(len(o.category) for o in outcomes)
    print(f"{'category':<{width}}  tried  handled")
    for o in outcomes:
        print(f"{o.category:<{width}}  {o.tried:>5}  {o.handled:>7}")
    tried, handled = sum(o.tried for o in outcomes), sum(o.handled for o in outcomes)
    print(f"{'total':<{width}}  {tried:>5}  {handled:>7}")
    for o in outcomes:
        for failure in o.failures[:5]:
            print(f"NOT HANDLED [{o.category}] {failure}")
    return 0 if tried == handled else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
