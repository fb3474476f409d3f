"""Cluster errors: one sentence each, naming the request that failed and what to do about it.

The kubernetes client's and urllib3's exceptions are translated here and never travel further up."""

from __future__ import annotations

import json
import re

from bot.domain.errors import CnibotError

RBAC_FILE = "deploy/rbac.yaml"
RBAC_ROLE = "ClusterRole cnibot-reader"


class ClusterError(CnibotError):
    """A request to the apiserver failed. `request` is e.g. 'GET /api/v1/pods?limit=500'."""

    status: int | None = None

    def __init__(self, message: str, *, request: str = "") -> None:
        self.request = request
        self.message = message
        super().__init__(message)


class NoKubeconfigError(ClusterError):
    pass


class UnreachableError(ClusterError):
    pass


class ClusterTimeoutError(ClusterError):
    pass


class UnauthorizedError(ClusterError):
    status = 401


class ForbiddenError(ClusterError):
    status = 403


class NotFoundError(ClusterError):
    status = 404


class ServerError(ClusterError):
    pass


_FORBIDDEN_DETAIL = re.compile(r'cannot (\w+) resource "([^"]+)" in API group "([^"]*)"')


def _status_message(body: bytes | str | None) -> str:
    if not body:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:200]
    message = data.get("message") if isinstance(data, dict) else None
    return str(message)[:300] if message else ""


def from_status(status: int, body: bytes | str | None, *, request: str, server: str) -> ClusterError:
    """The project's error for an HTTP error status from the apiserver."""
    detail = _status_message(body)
    if status == 401:
        return UnauthorizedError(
            f"401 Unauthorized from {server} for {request}: the credentials in the kubeconfig were rejected "
            "(expired token or client certificate?); refresh them, e.g. re-run your cloud's get-credentials",
            request=request,
        )
    if status == 403:
        m = _FORBIDDEN_DETAIL.search(detail)
        if m:
            verb, resource, group = m.groups()
            lacks = f'{verb} {resource} (API group "{group}")'
        else:
            lacks = request
        return ForbiddenError(
            f"403 Forbidden for {request}: the credentials may not {lacks}; {RBAC_FILE} grants it "
            f"in {RBAC_ROLE} (kubectl apply -f {RBAC_FILE}, bind it to the identity cnibot uses)",
            request=request,
        )
    if status == 404:
        return NotFoundError(f"404 Not Found for {request}: {detail or 'no such resource'}", request=request)
    error = ServerError(f"{status} from {server} for {request}: {detail or 'no message'}", request=request)
    error.status = status
    return error
