"""Mattermost allowlists: which teams and channels the bot listens to (direct messages need only the team)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from adapters.mattermost import MattermostChannel
from bot.config import MattermostSettings


def posted(team: str, channel: str, channel_type: str = "O") -> dict:
    post = {"id": "p1", "channel_id": channel, "user_id": "u1", "message": "@opora hi"}
    data = {"team_id": team, "channel_type": channel_type, "post": json.dumps(post)}
    return {"event": "posted", "data": data, "broadcast": {"channel_id": channel, "team_id": ""}}


@pytest.mark.parametrize(
    ("teams", "channels", "event", "allowed"),
    [
        ([], [], posted("t1", "c1"), True),
        (["t1"], [], posted("t1", "c1"), True),
        (["t1"], [], posted("t2", "c1"), False),
        (["t1"], ["c9"], posted("t1", "c1"), False),
        (["t1"], ["c9"], posted("t1", "c9"), True),
        (["t1"], ["c9"], posted("", "dm1", "D"), True),  # a direct message has no team and no listed channel
        (["t1"], ["c9"], posted("t2", "g1", "G"), False),
    ],
)
def test_mattermost_allowlist(teams: list[str], channels: list[str], event: dict, allowed: bool) -> None:
    settings = MattermostSettings(url="http://mm", token="x", allowed_teams=teams, allowed_channels=channels)
    assert MattermostChannel.allowed(SimpleNamespace(settings=settings), event) is allowed  # type: ignore[arg-type]
