"""``opora serve`` under cProfile with the main thread's CPU clock (``bench.webchat --cprofile FILE``).

py-spy samples every thread and cannot tell a thread waiting for a core from one using it on a busy
machine; this counts only CPU time of the event-loop thread, where the server's Python work runs (the
embedding and SQLite threads are not in it). The first SIGUSR1 starts profiling (the bench sends it after
the warm-up, so start-up is not in it), the second writes the stats to FILE.
"""

from __future__ import annotations

import cProfile
import signal
import sys
import time

from bot.cli import main

if __name__ == "__main__":
    out, sys.argv = sys.argv[1], ["opora", *sys.argv[2:]]
    profile = cProfile.Profile(time.thread_time)
    started = False

    def toggle(*_: object) -> None:
        global started
        if started:
            profile.dump_stats(out)
        else:
            profile.enable()
        started = not started

    signal.signal(signal.SIGUSR1, toggle)
    main()
