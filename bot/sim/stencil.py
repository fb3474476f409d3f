"""Stencil: JSON text for many objects of one shape, cut from an object the real builder made.

Generated collections serve pages of hundreds of pods; building each dict and encoding it costs ~150 us.
A stencil builds one sample whose varying strings are markers, encodes it once, and afterwards only splices
strings, so its text is by construction what json.dumps(builder(spec)) gives (tests check this)."""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Generic, TypeVar

from bot.sim.objects import NodeSpec, build_node, node_ids, node_variables, node_with
from bot.sim.pods import PodSpec, build_pod, pod_ids, pod_variables, pod_with
from bot.sim.store import Obj

S = TypeVar("S")
_MARKER = re.compile(r"<<([a-z0-9]+)>>")
# Values are spliced in unescaped: generated names, ids, IPs and timestamps never need JSON escaping.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


class Stencil(Generic[S]):
    def __init__(
        self,
        shape: S,
        *,
        build: Callable[[S], Obj],
        variables: Callable[[S], list[str]],
        replace: Callable[[S, list[str]], S],
        derived: Callable[[S], dict[str, str]],
        typed: bool = True,
    ) -> None:
        self._variables = variables
        self._derived = derived
        markers = [f"<<v{k}>>" for k in range(len(variables(shape)))]
        sample = replace(shape, markers)
        obj = build(sample)
        if not typed:
            obj = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        derived_keys = list(derived(sample))
        for key, literal in derived(sample).items():
            text = text.replace(literal, f"<<{key}>>")
        parts = _MARKER.split(text)
        literals, slots = parts[0::2], parts[1::2]
        # one %-format and an itemgetter: splicing ~40 strings then costs a few microseconds, in C
        self._format = "%s".join(lit.replace("%", "%%") for lit in literals)
        position = {f"v{k}": k for k in range(len(markers))}
        position.update({key: len(markers) + k for k, key in enumerate(derived_keys)})
        self._pick = operator.itemgetter(*(position[slot] for slot in slots)) if slots else None
        self._single = len(slots) == 1

    def render(self, spec: S) -> str:
        if self._pick is None:
            return self._format
        values = self._variables(spec) + list(self._derived(spec).values())
        picked = self._pick(values)
        return self._format % ((picked,) if self._single else picked)


def safe(value: str) -> bool:
    """Whether `value` can be spliced into JSON text as-is."""
    return _NEEDS_ESCAPE.search(value) is None


def pod_stencil(shape: PodSpec, typed: bool) -> Stencil[PodSpec]:
    return Stencil(shape, build=build_pod, variables=pod_variables, replace=pod_with, derived=pod_ids, typed=typed)


def node_stencil(shape: NodeSpec, typed: bool) -> Stencil[NodeSpec]:
    return Stencil(shape, build=build_node, variables=node_variables, replace=node_with, derived=node_ids, typed=typed)


class Stencils:
    """Stencils by (shape key, typed), made from the first object of each shape."""

    def __init__(self) -> None:
        self._pods: dict[tuple[object, bool], Stencil[PodSpec]] = {}
        self._nodes: dict[tuple[object, bool], Stencil[NodeSpec]] = {}

    def pod(self, key: object, spec: PodSpec, typed: bool) -> str:
        stencil = self._pods.get((key, typed))
        if stencil is None:
            stencil = self._pods[(key, typed)] = pod_stencil(spec, typed)
        return stencil.render(spec)

    def node(self, key: object, spec: NodeSpec, typed: bool) -> str:
        stencil = self._nodes.get((key, typed))
        if stencil is None:
            stencil = self._nodes[(key, typed)] = node_stencil(spec, typed)
        return stencil.render(spec)
