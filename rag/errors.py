"""Errors raised by the retrieval layer; the bot maps them to user-facing messages."""

from __future__ import annotations


class RagError(Exception):
    """Base of retrieval-layer errors."""


class EmbedderUnavailable(RagError):
    """The embedding model or endpoint cannot be used (missing offline model, bad endpoint)."""


class VectorStoreError(RagError):
    """The vector store refused an operation or cannot be opened."""
