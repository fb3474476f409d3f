"""Apiserver answers and transport faults as the project's errors: one sentence each, naming the request
that failed and what to do about it. The kubernetes client's and urllib3's exceptions stop here."""

from __future__ import annotations

import json
import re
import socket

from bot.domain.errors import (
    ClusterError,
    ClusterTimeoutError,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    ServerError,
    TooManyRequestsError,
    UnauthorizedError,
    UnreachableError,
)

RBAC_FILE = "deploy/rbac.yaml"
RBAC_ROLE = "ClusterRole cnibot-reader"

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


def from_status(
    status: int,
    body: bytes | str | None,
    *,
    request: str,
    server: str,
    retry_after: str | None = None,
    role: str = RBAC_ROLE,
) -> ClusterError:
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
            f"in {role} (kubectl apply -f {RBAC_FILE}, bind it to the identity cnibot uses)",
            request=request,
        )
    if status == 404:
        return NotFoundError(f"404 Not Found for {request}: {detail or 'no such resource'}", request=request)
    if status == 409:
        return ConflictError(
            f"409 Conflict for {request}: {detail or 'the object changed since it was read'}", request=request
        )
    if status == 422:
        return InvalidError(
            f"422 Invalid for {request}: {detail or 'the apiserver rejected the object'}", request=request
        )
    if status == 429:
        seconds = _seconds(retry_after)
        wait = f"; it asks to retry after {seconds:g} s" if seconds is not None else ""
        return TooManyRequestsError(
            f"429 Too Many Requests from {server} for {request}: the apiserver is throttling{wait}",
            request=request,
            retry_after=seconds,
        )
    return ServerError(
        f"{status} from {server} for {request}: {detail or 'no message'}", request=request, status=status
    )


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def transport_error(
    exc: BaseException, *, request: str, server: str, connect_timeout: float, read_timeout: float
) -> ClusterError:
    """A refused, unresolvable, untrusted or silent apiserver, as one sentence with the likely fix."""
    reason = getattr(exc, "reason", None) or exc
    name = type(reason).__name__
    text = str(reason)
    lowered = text.lower()
    if "certificate verify failed" in lowered or "CertificateError" in name or "hostname mismatch" in lowered:
        return UnreachableError(
            f"TLS verification failed for {server} ({request}): {_tls_detail(text)}; check the kubeconfig's "
            "certificate-authority-data and server address (or that no proxy intercepts TLS)",
            request=request,
        )
    # urllib3 reports a TLS handshake that never comes as a *read* timeout of the connect timeout's length
    said = _REPORTED_TIMEOUT.search(text)
    in_handshake = (
        server.startswith("https")
        and said is not None
        and float(said.group(1)) == connect_timeout
        and connect_timeout != read_timeout
    )
    if (
        server.startswith("https")
        and said is not None
        and float(said.group(1)) == connect_timeout == read_timeout
        and "handshake" not in lowered
    ):
        # a capped request (the start-up ping: 5 s for both) cannot tell a stalled handshake from a silent
        # apiserver, and raising CNIBOT_READ_TIMEOUT would not lift the cap: say both, advise neither
        return ClusterTimeoutError(
            f"no answer from {server} within {read_timeout:g} s for {request}, which a working apiserver "
            "answers at once (the apiserver is down or overloaded, or what listens there does not speak TLS: "
            "wrong port, or a proxy in the way?)",
            request=request,
        )
    if in_handshake or ("handshake" in lowered and ("timed out" in lowered or "timeout" in name.lower())):
        return ClusterTimeoutError(
            f"no TLS handshake from {server} within {connect_timeout:g} s for {request} "
            "(something accepts connections there but does not speak TLS: wrong port, or a proxy in the way?)",
            request=request,
        )
    if "ConnectTimeout" in name or (isinstance(reason, socket.timeout) and "connect" in lowered):
        return ClusterTimeoutError(
            f"could not connect to {server} within {connect_timeout:g} s for {request} "
            "(firewall, VPN or wrong address?)",
            request=request,
        )
    if "ReadTimeout" in name or isinstance(reason, socket.timeout | TimeoutError):
        return ClusterTimeoutError(
            f"timed out after {read_timeout:g} s waiting for {server} to answer {request} "
            "(the apiserver is overloaded or not answering; raise CNIBOT_READ_TIMEOUT if lists are huge)",
            request=request,
        )
    if "SSL" in name or "ssl" in lowered:
        return UnreachableError(f"TLS error talking to {server} for {request}: {_tls_detail(text)}", request=request)
    return UnreachableError(
        f"cannot reach the apiserver at {server} for {request}: {_short(text)} "
        "(is the cluster up and the kubeconfig's server address right?)",
        request=request,
    )


_REPORTED_TIMEOUT = re.compile(r"read timeout=([\d.]+)")
_TLS_REASON = re.compile(r"\[SSL[^\]]*\]\s*([^(]+?)(?:\s*\(_ssl\.c:\d+\))?(?:'|\"|\)|$)")


def _tls_detail(text: str) -> str:
    m = _TLS_REASON.search(text)
    return (m.group(1) if m else text.split(": ", 1)[-1]).strip()[:240]


def _short(text: str) -> str:
    for marker in ("Connection refused", "Name or service not known", "No route to host", "Network is unreachable"):
        if marker in text:
            return marker
    return text.split(": ", 1)[-1][:240]
