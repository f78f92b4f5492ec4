"""Two ``opora serve`` processes on one PostgreSQL behave as one (the scenario of ``bench.replicas``, which
prints the same run as a transcript): one leader for the work only one replica may do, failover, messenger
events answered once in every delivery mode, a web chat answer surviving a reconnect to the other replica,
and the per-user limit held across replicas."""

from __future__ import annotations

import pytest

from tests.conftest import _pg_available

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def test_two_replicas_behave_as_one() -> None:
    reason = await _pg_available()
    if reason:
        pytest.skip(reason)
    from bench.replicas import ANSWER_TOKENS, QPM, run

    r = await run(out=print)

    assert r["leaders"] == [True, False]
    assert r["ingest_runs"][0] >= 1 and r["ingest_runs"][1] == 0  # the start-up ingest ran in the leader only
    assert r["telegram_polling"] == {"answers": 1, "conflicts": 0}  # one getUpdates consumer
    assert r["mattermost"] == {"connects": 1, "answers": 1}  # one websocket consumer
    assert r["slack_socket"] == {"connections": 2, "answers": 1}  # both connected, answered once
    web = r["webchat"]
    assert web["in_progress_at_b"] is True  # the other replica knows the answer is still being written
    assert web["answer"].startswith("".join(ANSWER_TOKENS).strip()[:20])
    codes = [code or kind for _, kind, code in r["rate_limit"]]
    assert codes == ["answer.start"] * QPM + ["rate_limited"]  # one bucket across both replicas
    before, after = r["job_runs_before"], r["job_runs_after"]
    assert before["replica-a"] >= 1 and before["replica-b"] == 0  # scheduled jobs run in the leader only
    assert after["replica-b"] >= 1  # and after the failover in the new leader
    assert r["failover_s"] < 15
    assert r["after_failover"]["telegram"] == 1 and r["after_failover"]["mm_connects"] == 2
    assert r["after_failover"]["conflicts"] == 0
    assert r["telegram_webhook"] == {"codes": [200, 200], "answers": 1}
    assert r["slack_http"] == {"codes": [200, 200], "answers": 1}
