"""The read-only cluster reader handed to probes: GET requests and nothing else.

It is built around one function that can only send GET; no other verb is reachable from a probe. Lists are
paginated with limit/continue and returned as plain JSON dicts (the typed client models cost ~10x more
time and memory at 150,000 pods)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlencode

import orjson

from bot.cluster.connect import api_client
from bot.cluster.errors import from_status, transport_error
from bot.config import ClusterSettings
from bot.domain.errors import (
    BadResponseError,
    ClusterError,
    ClusterTimeoutError,
    ForbiddenError,
    NotFoundError,
)

Query = dict[str, str | int]
Fetch = Callable[..., bytes]  # (path, query, accept, timeout=None) -> body; timeout caps the read timeout
JSON = "application/json, */*"
# Server-side printed rows, as `kubectl get -o wide` asks for: a few hundred bytes a pod instead of kilobytes.
TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json"
)
PING_PATH = "/api/v1/namespaces/kube-system"


_CONTINUE = re.compile(rb'"continue":"([^"]+)"')


def describe_request(path: str, query: Query) -> str:
    return f"GET {path}" + (f"?{urlencode(query)}" if query else "")


def get_only_fetch(api: Any, server: str, settings: ClusterSettings) -> Fetch:
    """A function that GETs `path` through the official client and returns the body, or raises ClusterError."""
    import urllib3

    def fetch(path: str, query: Query, accept: str = JSON, timeout: float | None = None) -> bytes:
        request = describe_request(path, query)
        read_timeout = settings.read_timeout if timeout is None else min(settings.read_timeout, timeout)
        connect_timeout = min(settings.connect_timeout, read_timeout)
        try:
            method, url, headers, _, _ = api.param_serialize(
                method="GET",
                resource_path=path,
                query_params=list(query.items()),
                header_params={"Accept": accept},
                auth_settings=["BearerToken"],
            )
            response = api.call_api(
                method, url, header_params=headers, _request_timeout=(connect_timeout, read_timeout)
            )
            response.read()
            status, body = int(response.status), bytes(response.data or b"")
            retry_after = (response.getheaders() or {}).get("Retry-After") if status == 429 else None
        except (TimeoutError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise transport_error(
                exc, request=request, server=server, connect_timeout=connect_timeout, read_timeout=read_timeout
            ) from exc
        except ClusterError:
            raise
        except Exception as exc:  # the client raises ApiException(status=0) for TLS and other local faults
            raise transport_error(
                exc, request=request, server=server, connect_timeout=connect_timeout, read_timeout=read_timeout
            ) from exc
        if status >= 400:
            raise from_status(status, body, request=request, server=server, retry_after=retry_after)
        return body

    return fetch


def decode_json(body: bytes, *, request: str, server: str) -> dict[str, Any]:
    """The JSON object an apiserver sends; anything else (a proxy's login page, garbage) is one sentence."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        start = " ".join(body[:60].decode("utf-8", "replace").split())
        raise BadResponseError(
            f"{server} answered {request} with something that is not JSON (it starts {start!r}); "
            "is a proxy or login page in the way, or does the kubeconfig point at the wrong server?",
            request=request,
        ) from None
    if not isinstance(data, dict):
        raise BadResponseError(
            f"{server} answered {request} with JSON that is not an object; it does not look like a Kubernetes "
            "apiserver",
            request=request,
        )
    return data


class SharedReads:
    """One operation's reads (e.g. `probe all`): identical requests share one answer, whether it is in
    flight or done, and no request outlives the operation's deadline. Answers over `keep_bytes` are
    shared while in flight only, so a run never holds every page of a 150,000-pod list twice."""

    def __init__(self, fetch: Fetch, *, seconds: float, server: str, keep_bytes: int = 2 << 20) -> None:
        self._fetch = fetch
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.server = server
        self.keep_bytes = keep_bytes
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, tuple[tuple[str, str | int], ...], str], Future[bytes]] = {}

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _too_late(self, request: str) -> ClusterTimeoutError:
        return ClusterTimeoutError(
            f"no answer from {self.server} to {request} within this operation's {self.seconds:g} s deadline "
            "(the apiserver is slow or not answering; CNIBOT_PROBE_DEADLINE sets the deadline)",
            request=request,
        )

    def __call__(self, path: str, query: Query, accept: str = JSON, timeout: float | None = None) -> bytes:
        request = describe_request(path, query)
        remaining = self.remaining()
        if remaining <= 0:
            raise self._too_late(request)
        key = (path, tuple(sorted(query.items())), accept)
        with self._lock:
            future = self._memo.get(key)
            mine = future is None
            if future is None:
                future = self._memo[key] = Future()
        if not mine:
            try:
                return future.result(timeout=remaining)
            except FutureTimeout:
                raise self._too_late(request) from None
        cap = remaining if timeout is None else min(remaining, timeout)
        try:
            body = self._fetch(path, query, accept, cap)
        except ClusterTimeoutError as exc:
            error = self._too_late(request) if self.remaining() <= 0.05 else exc
            future.set_exception(error)
            raise error from exc
        except BaseException as exc:
            future.set_exception(exc)
            raise
        future.set_result(body)
        if len(body) > self.keep_bytes:
            with self._lock:
                self._memo.pop(key, None)
        return body


class ClusterReader:
    """What probes may do with a cluster: get one object, list (paginated), read a pod's log."""

    def __init__(self, fetch: Fetch, *, server: str, where: str, page_size: int = 1000) -> None:
        self._fetch = fetch
        self.server = server
        self.where = where
        self.page_size = page_size

    def get(self, path: str, **query: str | int) -> dict[str, Any]:
        return self._get(path, dict(query), JSON)

    def _get(self, path: str, query: Query, accept: str) -> dict[str, Any]:
        body = self._fetch(path, query, accept)
        return decode_json(body, request=describe_request(path, query), server=self.server)

    def shared(self, *, seconds: float) -> ClusterReader:
        """A reader for one operation: identical reads shared, every read within `seconds` from now."""
        reads = SharedReads(self._fetch, seconds=seconds, server=self.server)
        return ClusterReader(reads, server=self.server, where=self.where, page_size=self.page_size)

    def ping(self, *, seconds: float) -> None:
        """One small GET that any working apiserver answers at once: tells an unreachable, silent,
        untrusted or impostor server from a working one before probes start. 403 and 404 count as
        answers (the server is an apiserver; the probes will say what they may not read)."""
        try:
            body = self._fetch(PING_PATH, {}, JSON, seconds)
        except (ForbiddenError, NotFoundError):
            return
        decode_json(body, request=describe_request(PING_PATH, {}), server=self.server)

    def get_optional(self, path: str, **query: str | int) -> dict[str, Any] | None:
        """The object, or None when the apiserver says 404 (e.g. a CNI's CRD group is not installed)."""
        try:
            return self.get(path, **query)
        except NotFoundError:
            return None

    def pages(self, path: str, *, label_selector: str = "", field_selector: str = "") -> Iterator[list[dict[str, Any]]]:
        """Every item of a list, page by page (limit/continue), so callers never hold it all at once."""
        for data in self._page_documents(path, label_selector, field_selector, JSON):
            yield list(data.get("items") or [])

    def table_pages(
        self, path: str, *, label_selector: str = "", field_selector: str = "", with_metadata: bool = True
    ) -> Iterator[dict[str, Any]]:
        """A list as server-printed Table pages (columnDefinitions + rows; each row's object metadata
        unless `with_metadata` is False). A server that does not print tables answers with an ordinary
        list, which callers must accept too (check `kind`)."""
        extra: Query = {} if with_metadata else {"includeObject": "None"}
        yield from self._page_documents(path, label_selector, field_selector, TABLE, extra)

    def _page_documents(
        self, path: str, label_selector: str, field_selector: str, accept: str, extra: Query | None = None
    ) -> Iterator[dict[str, Any]]:
        """Pages in order, each fetched while the caller still works on the one before: the continue
        token sits in the list metadata that an apiserver writes before the items, so the next request
        need not wait for the whole page to be parsed."""
        query: Query = {"limit": self.page_size, **(extra or {})}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnibot-page")
        try:
            raw = self._fetch(path, dict(query), accept)
            while True:
                early = _CONTINUE.search(raw, 0, 4096)
                ahead: Future[bytes] | None = None
                if early:
                    query["continue"] = early.group(1).decode()
                    ahead = pool.submit(self._fetch, path, dict(query), accept)
                data = decode_json(raw, request=describe_request(path, query), server=self.server)
                token = (data.get("metadata") or {}).get("continue")
                yield data
                if ahead is not None and token == query.get("continue"):
                    raw = ahead.result()
                elif token:
                    if ahead is not None:
                        ahead.cancel()
                    query["continue"] = token
                    raw = self._fetch(path, dict(query), accept)
                else:
                    return
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def items(self, path: str, *, label_selector: str = "", field_selector: str = "") -> list[dict[str, Any]]:
        return [
            item
            for page in self.pages(path, label_selector=label_selector, field_selector=field_selector)
            for item in page
        ]

    def items_optional(self, path: str, **selectors: str) -> list[dict[str, Any]] | None:
        """The items, or None when the resource does not exist on this cluster (404)."""
        try:
            return self.items(path, **selectors)
        except NotFoundError:
            return None

    def log(self, namespace: str, pod: str, *, container: str = "", tail_lines: int = 200) -> str:
        query: Query = {"tailLines": tail_lines}
        if container:
            query["container"] = container
        body = self._fetch(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query, "text/plain, */*")
        return body.decode("utf-8", errors="replace")


def connect(settings: ClusterSettings) -> ClusterReader:
    """A reader for the cluster the settings point at (raises NoKubeconfigError when there is none)."""
    api, where = api_client(settings)
    server = str(api.configuration.host)
    return ClusterReader(
        get_only_fetch(api, server, settings), server=server, where=where, page_size=settings.page_size
    )
