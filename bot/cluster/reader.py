"""The read-only cluster reader handed to probes: GET requests and nothing else.

It is built around one function that can only send GET; no other verb is reachable from a probe. Lists are
paginated with limit/continue and returned as plain JSON dicts (the typed client models cost ~10x more
time and memory at 150,000 pods)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import orjson

from bot.cluster.connect import api_client
from bot.cluster.errors import (
    ClusterError,
    ClusterTimeoutError,
    NotFoundError,
    UnreachableError,
    from_status,
)
from bot.config import ClusterSettings

Query = dict[str, str | int]
Fetch = Callable[[str, Query, str], bytes]  # path, query, Accept header -> body
JSON = "application/json, */*"
# Server-side printed rows, as `kubectl get -o wide` asks for: a few hundred bytes a pod instead of kilobytes.
TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json"
)


_CONTINUE = re.compile(rb'"continue":"([^"]+)"')


def _describe(path: str, query: Query) -> str:
    return f"GET {path}" + (f"?{urlencode(query)}" if query else "")


def get_only_fetch(api: Any, server: str, settings: ClusterSettings) -> Fetch:
    """A function that GETs `path` through the official client and returns the body, or raises ClusterError."""
    import urllib3

    timeout = (settings.connect_timeout, settings.read_timeout)

    def fetch(path: str, query: Query, accept: str = JSON) -> bytes:
        request = _describe(path, query)
        try:
            method, url, headers, _, _ = api.param_serialize(
                method="GET",
                resource_path=path,
                query_params=list(query.items()),
                header_params={"Accept": accept},
                auth_settings=["BearerToken"],
            )
            response = api.call_api(method, url, header_params=headers, _request_timeout=timeout)
            response.read()
            status, body = int(response.status), bytes(response.data or b"")
        except (TimeoutError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _transport_error(exc, request, server, settings) from exc
        except ClusterError:
            raise
        except Exception as exc:  # the client raises ApiException(status=0) for TLS and other local faults
            raise UnreachableError(f"cannot reach {server} for {request}: {exc}", request=request) from exc
        if status >= 400:
            raise from_status(status, body, request=request, server=server)
        return body

    return fetch


def _transport_error(exc: BaseException, request: str, server: str, settings: ClusterSettings) -> ClusterError:
    reason = getattr(exc, "reason", None) or exc
    name = type(reason).__name__
    if "ReadTimeout" in name or (isinstance(reason, socket.timeout) and "connect" not in str(reason).lower()):
        return ClusterTimeoutError(
            f"timed out after {settings.read_timeout:g} s waiting for {server} to answer {request} "
            "(the apiserver is overloaded or the list is huge; raise CNIBOT_READ_TIMEOUT)",
            request=request,
        )
    if "ConnectTimeout" in name:
        return ClusterTimeoutError(
            f"could not connect to {server} within {settings.connect_timeout:g} s for {request} "
            "(firewall, VPN or wrong address?)",
            request=request,
        )
    return UnreachableError(
        f"cannot reach the apiserver at {server} for {request}: {_short(reason)} "
        "(is the cluster up and the kubeconfig's server address right?)",
        request=request,
    )


def _short(reason: object) -> str:
    text = str(reason)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "No route to host",
        "Network is unreachable",
    ):
        if marker in text:
            return marker
    return text.split(": ", 1)[-1][:160]


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
        data = orjson.loads(self._fetch(path, query, accept))
        return data if isinstance(data, dict) else {}

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
                data = orjson.loads(raw)
                data = data if isinstance(data, dict) else {}
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
