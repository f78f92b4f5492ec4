"""Loaders: each turns one kind of source into ``SourceDocument``s."""

from rag.loaders.folder import FolderLoader

__all__ = ["FolderLoader"]
