"""ChainCollection: several collections listed one after another, for the scaled scenario's pods."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping

from bot.sim.obj import Obj
from bot.sim.store import Collection


class ChainCollection(Collection):
    """Several collections listed one after another (e.g. generated DaemonSet pods, then static pods)."""

    generated = True

    def __init__(self, parts: list[Collection]) -> None:
        self.parts = parts
        self._starts: list[int] = []
        total = 0
        for part in parts:
            self._starts.append(total)
            total += len(part)
        self._len = total

    def __len__(self) -> int:
        return self._len

    def _locate(self, index: int) -> tuple[Collection, int]:
        if not 0 <= index < self._len:
            raise IndexError(index)
        p = bisect.bisect_right(self._starts, index) - 1
        return self.parts[p], index - self._starts[p]

    def item(self, index: int) -> Obj:
        part, i = self._locate(index)
        return part.item(i)

    def labels(self, index: int) -> Mapping[str, str]:
        part, i = self._locate(index)
        return part.labels(i)

    def fields(self, index: int) -> Mapping[str, str]:
        part, i = self._locate(index)
        return part.fields(i)

    def item_json(self, index: int, typed: bool) -> str:
        part, i = self._locate(index)
        return part.item_json(i, typed)

    def table_row(self, index: int) -> Obj:
        part, i = self._locate(index)
        return part.table_row(i)

    def index_of(self, namespace: str | None, name: str) -> int | None:
        for start, part in zip(self._starts, self.parts, strict=True):
            found = part.index_of(namespace, name)
            if found is not None:
                return start + found
        return None

    def namespace_ranges(self, namespace: str) -> list[range]:
        return self._shift(lambda part: part.namespace_ranges(namespace))

    def candidates(self, namespace: str | None, equal: Mapping[str, str]) -> list[range]:
        return self._shift(lambda part: part.candidates(namespace, equal))

    def _shift(self, ranges_of: Callable[[Collection], list[range]]) -> list[range]:
        out: list[range] = []
        for start, part in zip(self._starts, self.parts, strict=True):
            out.extend(range(r.start + start, r.stop + start, r.step) for r in ranges_of(part))
        return out
