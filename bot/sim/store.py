"""Collections of objects behind the simulated API: sorted static lists, lazily generated ones, paging."""

from __future__ import annotations

import bisect
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.sim.obj import Obj
from bot.sim.resources import FIELD_DEFAULTS, FIELD_PATHS, ResourceType
from bot.sim.selectors import FieldSelector, LabelSelector


def field_value(obj: Obj, path: str) -> str:
    """A selectable field as the apiserver renders it: strings as-is, booleans lower-case, missing empty."""
    value: Any = obj
    for part in FIELD_PATHS.get(path, path).split("."):
        if not isinstance(value, dict):
            return FIELD_DEFAULTS.get(path, "")
        value = value.get(part)
    if value is None:
        return FIELD_DEFAULTS.get(path, "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def object_fields(rtype: ResourceType, obj: Obj) -> dict[str, str]:
    return {f: field_value(obj, f) for f in rtype.fields}


class Collection(ABC):
    """The objects of one resource in list order; an index is a position in that order.

    Generated collections build each object on demand, so a page costs the same at any offset."""

    generated = False

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def item(self, index: int) -> Obj:
        """The object at `index`; callers must not mutate it."""

    def table_row(self, index: int) -> Obj:
        """The object printed as a Table row (pods only); generated collections print from their spec."""
        from bot.sim.table import row_from_object

        return row_from_object(self.item(index))

    @abstractmethod
    def labels(self, index: int) -> Mapping[str, str]: ...

    @abstractmethod
    def fields(self, index: int) -> Mapping[str, str]:
        """The selectable fields of the object at `index` (see ResourceType.fields)."""

    @abstractmethod
    def index_of(self, namespace: str | None, name: str) -> int | None:
        """Where the object is; namespace None means cluster-scoped, or any namespace for lazy pods."""

    @abstractmethod
    def namespace_ranges(self, namespace: str) -> list[range]:
        """Every index in `namespace`, as ranges in ascending order."""

    def candidates(self, namespace: str | None, equal: Mapping[str, str]) -> list[range]:
        """Indexes that may match: exactly those in `namespace`, a superset for the field equalities."""
        name = equal.get("metadata.name")
        if name is not None:
            found = self.index_of(namespace, name)
            return [] if found is None else [range(found, found + 1)]
        if namespace is not None:
            return self.namespace_ranges(namespace)
        return [range(len(self))]

    def item_json(self, index: int, typed: bool) -> str:
        """The object as compact JSON; `typed` False leaves out kind and apiVersion, as built-in list items do."""
        return encode_item(self.item(index), typed)

    def __iter__(self) -> Iterator[Obj]:
        return (self.item(i) for i in range(len(self)))


def encode_item(obj: Obj, typed: bool) -> str:
    if not typed:
        obj = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class StaticCollection(Collection):
    """Objects held as dicts, sorted by (namespace, name) as etcd keys sort."""

    def __init__(self, rtype: ResourceType, objects: list[Obj] | None = None) -> None:
        self.rtype = rtype
        self._objects: list[Obj] = []
        self._keys: list[tuple[str, str]] = []
        self._fields: list[dict[str, str]] = []
        self._json: list[dict[bool, str]] = []  # encoded once: lists of static objects repeat
        for obj in objects or []:
            self.put(obj)

    def __len__(self) -> int:
        return len(self._objects)

    def item(self, index: int) -> Obj:
        return self._objects[index]

    def labels(self, index: int) -> Mapping[str, str]:
        labels: Mapping[str, str] = self._objects[index]["metadata"].get("labels") or {}
        return labels

    def fields(self, index: int) -> Mapping[str, str]:
        return self._fields[index]

    def item_json(self, index: int, typed: bool) -> str:
        cache = self._json[index]
        text = cache.get(typed)
        if text is None:
            text = cache[typed] = encode_item(self._objects[index], typed)
        return text

    @staticmethod
    def key(obj: Obj) -> tuple[str, str]:
        meta = obj["metadata"]
        return (meta.get("namespace") or "", meta["name"])

    def index_of(self, namespace: str | None, name: str) -> int | None:
        key = (namespace or "", name)
        i = bisect.bisect_left(self._keys, key)
        return i if i < len(self._keys) and self._keys[i] == key else None

    def candidates(self, namespace: str | None, equal: Mapping[str, str]) -> list[range]:
        if namespace is None and "metadata.name" in equal and self.rtype.namespaced:
            return [range(len(self))]  # the name may repeat across namespaces: scan them all
        return super().candidates(namespace, equal)

    def namespace_ranges(self, namespace: str) -> list[range]:
        start = bisect.bisect_left(self._keys, (namespace, ""))
        end = bisect.bisect_left(self._keys, (namespace + "\x00", ""))
        return [range(start, end)]

    def get(self, namespace: str | None, name: str) -> Obj | None:
        i = self.index_of(namespace, name)
        return None if i is None else self._objects[i]

    def put(self, obj: Obj) -> None:
        """Inserts or replaces; replaced dicts are never mutated, so readers holding them stay safe."""
        key = self.key(obj)
        i = bisect.bisect_left(self._keys, key)
        fields = object_fields(self.rtype, obj)
        if i < len(self._keys) and self._keys[i] == key:
            self._objects[i] = obj
            self._fields[i] = fields
            self._json[i] = {}
        else:
            self._keys.insert(i, key)
            self._objects.insert(i, obj)
            self._fields.insert(i, fields)
            self._json.insert(i, {})

    def remove(self, namespace: str | None, name: str) -> Obj | None:
        i = self.index_of(namespace, name)
        if i is None:
            return None
        del self._keys[i], self._fields[i], self._json[i]
        return self._objects.pop(i)


def _tail(r: range, start: int) -> range:
    """The part of ascending range `r` at or after index `start`."""
    if start <= r.start:
        return r
    skip = -(-(start - r.start) // r.step)
    return r[skip:]


@dataclass(frozen=True)
class Page:
    indexes: list[int]
    next_start: int | None  # where the next page resumes, None on the last page
    remaining: int | None  # items after this page, when known without evaluating selectors


def select_page(
    collection: Collection,
    *,
    namespace: str | None,
    labels: LabelSelector,
    fields: FieldSelector,
    start: int = 0,
    limit: int | None = None,
) -> Page:
    """One page of a list: the indexes that match, from `start`, at most `limit` of them."""
    ranges = collection.candidates(namespace, fields.equalities())
    check = not (labels.empty and fields.empty)
    out: list[int] = []
    for r in ranges:
        for i in _tail(r, start):
            if check and not (fields.matches(collection.fields(i)) and labels.matches(collection.labels(i))):
                continue
            if limit is not None and len(out) >= limit:
                remaining = None if check else sum(len(_tail(rr, i)) for rr in ranges)
                return Page(out, i, remaining)
            out.append(i)
    return Page(out, None, None)
