"""``settings.confluence``: the Confluence source (see docs/configuration.md and docs/confluence.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class ConfluenceSettings(BaseModel):
    url: str | None = None  # Cloud: https://<site>.atlassian.net (API under /wiki); Server: base URL
    kind: Literal["cloud", "server"] = "cloud"
    spaces: list[str] = Field(default_factory=list)  # space keys to index
    email: str | None = None  # Cloud: the account's e-mail (with an API token)
    token: SecretStr | None = None  # Cloud: API token; Server / Data Center: personal access token (Bearer)
    sync_interval: float = 15.0  # minutes between incremental syncs (the scheduler's confluence.sync job)
    overlap_minutes: float = 1440.0  # the lastmodified window reaches back this far (CQL minute precision,
    # the account's time zone): pages listed again with an unchanged version cost nothing
    page_size: int = 50  # results per listing request (halved after a 5xx)
    max_retries: int = 5
    retry_after_max: float = 60.0  # longest Retry-After honoured, seconds
    timeout: float = 30.0  # seconds per request
    mass_delete_ratio: float = 0.2  # refuse to delete when more than this share of a space vanished at once
    mass_delete_min: int = 5  # ... and more than this many pages (small spaces may lose a page or two)

    @property
    def enabled(self) -> bool:
        return bool(self.url and self.token and self.spaces)
