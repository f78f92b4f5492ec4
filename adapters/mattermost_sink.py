"""One Mattermost thread as ``adapters.channels`` sees it: posts with ``root_id``, patches for streaming
edits, interactive buttons that call our action URL.

Every post carries a ``pending_post_id`` derived from the renderer's nonce: Mattermost drops a second
create with the same id, so a post whose outcome is unknown is simply sent again (``find_post``) and can
never appear twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from adapters.channels import Capabilities, Draft
from adapters.formatting import MATTERMOST_LIMIT, mattermost_parts
from adapters.mattermost_client import MattermostClient
from bot.texts import t
from bot.types import Lang

ACK_EMOJI = {"eyes": "eyes"}


@dataclass(frozen=True, slots=True)
class MattermostPayload:
    message: str
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Actions:
    """Where Mattermost sends button presses, and the token that proves a press came through it."""

    url: str
    token: str


def feedback_props(
    actions: Actions, message_id: int, lang: Lang, *, human_only: bool = False
) -> dict[str, Any]:
    """👍/👎 and "call a human" buttons (only "call a human" under the offer after a 👎). Mattermost
    strips ``integration`` from posts sent to clients, so the token in the context is seen only by the
    server, which posts it back to us."""

    def button(action_id: str, label: str, action: str, value: int = 0) -> dict[str, Any]:
        context = {"action": action, "value": value, "message_id": message_id, "token": actions.token}
        return {
            "id": action_id,  # Mattermost wants alphanumeric ids
            "name": label,
            "type": "button",
            "integration": {"url": actions.url, "context": context},
        }

    votes = (
        []
        if human_only
        else [
            button("voteup", t("button_up", lang), "vote", 1),
            button("votedown", t("button_down", lang), "vote", -1),
        ]
    )
    return {"attachments": [{"actions": [*votes, button("human", t("button_human", lang), "human")]}]}


class MattermostSink:
    """Posts into one thread (``root_id``) of one channel, acknowledging on the question post."""

    def __init__(
        self,
        client: MattermostClient,
        *,
        bot_user_id: str,
        channel_id: str,
        root_id: str,
        question_id: str | None = None,
        actions: Actions | None = None,
        edit_interval: float = 0.5,
        max_len: int = MATTERMOST_LIMIT,
    ) -> None:
        self.client = client
        self.bot_user_id = bot_user_id
        self.channel_id = channel_id
        self.root_id = root_id
        self.question_id = question_id
        self.actions = actions
        self.capabilities = Capabilities(
            can_edit=True,
            can_react=True,
            max_len=max_len,
            dialect="mattermost",
            min_edit_interval=edit_interval,
            ack="placeholder",
            can_lookup=True,
            buttons=actions is not None,  # buttons need our action URL and token
        )
        self._sent: dict[str, MattermostPayload] = {}

    def render(self, draft: Draft) -> Sequence[Any]:
        parts = mattermost_parts(draft, self.capabilities.max_len)
        if not draft.final:
            return [MattermostPayload(parts[0])]
        props: dict[str, Any] = {}
        if (
            (draft.controls or draft.offer_human)
            and draft.message_id is not None
            and self.actions is not None
        ):
            props = feedback_props(self.actions, draft.message_id, draft.lang, human_only=not draft.controls)
        return [MattermostPayload(p, props if i == len(parts) - 1 else {}) for i, p in enumerate(parts)]

    async def react(self, name: Literal["eyes"]) -> None:
        if self.question_id:
            await self.client.add_reaction(
                user_id=self.bot_user_id, post_id=self.question_id, emoji=ACK_EMOJI[name]
            )

    def _pending_id(self, nonce: str) -> str:
        return f"{self.bot_user_id}:{hashlib.sha256(nonce.encode()).hexdigest()[:20]}"

    async def post(self, payload: MattermostPayload, *, nonce: str) -> str:
        self._sent[nonce] = payload
        post = await self.client.create_post(
            channel_id=self.channel_id,
            message=payload.message,
            root_id=self.root_id,
            props=payload.props,
            pending_post_id=self._pending_id(nonce),
        )
        return str(post["id"])

    async def edit(self, ref: str, payload: MattermostPayload) -> None:
        await self.client.patch_post(ref, message=payload.message, props=payload.props)

    async def find_post(self, nonce: str) -> str | None:
        """Send the same post again: the server returns the one that landed, or creates it once."""
        payload = self._sent.get(nonce)
        return None if payload is None else await self.post(payload, nonce=nonce)
