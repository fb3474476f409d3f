"""The project's own error hierarchy. Adapters translate library exceptions into these at the edge,
so a user only ever sees one clean line, never a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CnibotError(Exception):
    """Base class: the message is a complete, user-facing sentence."""


class UsageError(CnibotError):
    """Bad input or bad usage: the CLI exits with status 2."""


def unknown_id(kind: str, given: str, known: Iterable[str], listing: str, *, where: str = "") -> UsageError:
    """The one-line error for an id that names nothing (a probe, a runbook), with a likely fix when one of
    `known` is close: "no probe 'ipam.usag' (did you mean ipam.usage?); `cnibot probe list` shows the ids"."""
    close = difflib.get_close_matches(given.lower(), sorted(set(known)), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return UsageError(f"{where}no {kind} {given!r}{hint}; {listing} shows the ids")


class RunbookError(CnibotError):
    """A runbook file cannot be read or parsed."""

    def __init__(self, path: str, field: str, message: str) -> None:
        self.path = path
        self.field = field
        self.message = message
        super().__init__(f"{path}: {field}: {message}" if field else f"{path}: {message}")


class IndexUnavailableError(CnibotError):
    """The search index is missing, stale or unreadable and could not be rebuilt."""


class SettingsError(UsageError):
    """A setting (environment variable, settings file or flag) is missing or malformed."""


class ClusterError(CnibotError):
    """A request to the apiserver failed. `request` is e.g. 'GET /api/v1/pods?limit=500'.

    Subclasses tell a retry loop and a writer what happened: the credentials (401), the permissions
    (403), a missing object (404), a changed object (409), a rejected body (422), throttling (429),
    the server (5xx), the transport (unreachable, timeout) or an answer that is not the API's."""

    status: int | None = None
    retryable = False

    def __init__(self, message: str, *, request: str = "") -> None:
        self.request = request
        self.message = message
        super().__init__(message)


class NoKubeconfigError(ClusterError):
    """No usable kubeconfig or in-cluster service account."""


class UnreachableError(ClusterError):
    """The connection failed (refused, DNS, TLS verification, routing)."""


class ClusterTimeoutError(ClusterError):
    """No answer within the connect or read timeout, or the operation's deadline passed."""

    retryable = True


class BadResponseError(ClusterError):
    """The server answered, but not as a Kubernetes apiserver does (a proxy or login page, garbage)."""


class UnauthorizedError(ClusterError):
    status = 401


class ForbiddenError(ClusterError):
    status = 403


class NotFoundError(ClusterError):
    status = 404


class ConflictError(ClusterError):
    """409: the object changed since it was read (resourceVersion) or already exists."""

    status = 409


class InvalidError(ClusterError):
    """422: the apiserver rejected the object as invalid."""

    status = 422


class TooManyRequestsError(ClusterError):
    """429: the apiserver throttles us; `retry_after` seconds if it said."""

    status = 429
    retryable = True

    def __init__(self, message: str, *, request: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, request=request)
        self.retry_after = retry_after


class ServerError(ClusterError):
    """5xx, or any other unexpected status."""

    retryable = True

    def __init__(self, message: str, *, request: str = "", status: int | None = None) -> None:
        super().__init__(message, request=request)
        self.status = status
