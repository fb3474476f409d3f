"""A scenario: the objects and container logs one simulated cluster serves, plus its key numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bot.sim.obj import Obj
from bot.sim.resources import BUILT_IN_GROUPS, BY_KEY, group_of
from bot.sim.store import Collection, StaticCollection

# (namespace, pod, container, previous) -> the log text, or None when that container has no log.
LogSource = Callable[[str, str, str, bool], str | None]


class LogBook:
    """Container logs keyed by (namespace, pod, container, previous), with an optional generator."""

    def __init__(self, fallback: LogSource | None = None) -> None:
        self.entries: dict[tuple[str, str, str, bool], str] = {}
        self.fallback = fallback

    def add(self, namespace: str, pod: str, container: str, text: str, *, previous: bool = False) -> None:
        self.entries[(namespace, pod, container, previous)] = text

    def __call__(self, namespace: str, pod: str, container: str, previous: bool) -> str | None:
        found = self.entries.get((namespace, pod, container, previous))
        if found is None and self.fallback is not None:
            return self.fallback(namespace, pod, container, previous)
        return found


@dataclass
class Scenario:
    """What one simulated cluster holds. `objects` maps a resource key (`pods`,
    `ipamblocks.crd.projectcalico.org`) to its collection; a CRD group is served only when at least one
    of its keys is present. `facts` records the numbers the scenario was built to show (pool size,
    allocated and leaked addresses, ...), for tests and reports."""

    name: str
    description: str
    allow_writes: bool
    objects: dict[str, Collection] = field(default_factory=dict)
    logs: LogSource = field(default_factory=LogBook)
    resource_version: int = 1
    kubernetes_version: str = "v1.29.4"
    facts: dict[str, int | str] = field(default_factory=dict)

    def groups(self) -> set[str]:
        """API groups served: the built-in ones plus the CRD groups the scenario installs."""
        return set(BUILT_IN_GROUPS) | {group_of(k) for k in self.objects}

    def collection(self, key: str) -> Collection:
        """The collection for `key`, created empty on first use (built-in resources always exist)."""
        found = self.objects.get(key)
        if found is None:
            found = self.objects[key] = StaticCollection(BY_KEY[key])
        return found

    def get(self, key: str, namespace: str | None, name: str) -> Obj | None:
        coll = self.objects.get(key)
        if coll is None:
            return None
        i = coll.index_of(namespace, name)
        return None if i is None else coll.item(i)

    def items(self, key: str, namespace: str | None = None) -> Iterator[Obj]:
        """Every object of `key` (in `namespace`), generated ones included; for tests and small scenarios."""
        coll = self.objects.get(key)
        if coll is None:
            return iter(())
        if namespace is None:
            return iter(coll)
        return (coll.item(i) for r in coll.namespace_ranges(namespace) for i in r)
