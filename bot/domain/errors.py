"""The project's own error hierarchy. Adapters translate library exceptions into these at the edge,
so a user only ever sees one clean line, never a traceback."""

from __future__ import annotations


class CnibotError(Exception):
    """Base class: the message is a complete, user-facing sentence."""


class UsageError(CnibotError):
    """Bad input or bad usage: the CLI exits with status 2."""


class RunbookError(CnibotError):
    """A runbook file cannot be read or parsed."""

    def __init__(self, path: str, field: str, message: str) -> None:
        self.path = path
        self.field = field
        self.message = message
        super().__init__(f"{path}: {field}: {message}" if field else f"{path}: {message}")


class IndexUnavailableError(CnibotError):
    """The search index is missing, stale or unreadable and could not be rebuilt."""
