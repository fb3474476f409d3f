"""Stencil: JSON text for many objects of one shape, cut from an object the real builder made.

Generated collections serve pages of hundreds of pods; building each dict and encoding it costs ~150 us.
A stencil builds one sample whose varying strings are markers, encodes it once, and afterwards only splices
strings, so its text is by construction what json.dumps(builder(spec)) gives (tests check this)."""

from __future__ import annotations

import dataclasses
import json
import operator
import re
from collections.abc import Callable
from typing import Generic, TypeVar

from bot.sim.obj import Obj
from bot.sim.objects import NodeSpec, build_node, node_ids
from bot.sim.pods import Container, PodSpec, build_pod, pod_ids

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


def pod_variables(p: PodSpec) -> list[str]:
    """The strings that vary between pods of one shape, in a fixed order (see `pod_with`)."""
    out = [p.namespace, p.name, p.uid, str(p.rv), p.created, p.started]
    out += [v for v in (p.node, p.host_ip, p.ip, p.generate_name) if v is not None]
    out += [v for v in (p.ids_seed, p.waiting_message, p.unschedulable_message) if v]
    out += list(p.labels.values()) + list((p.annotations or {}).values())
    if p.owner:
        out += [p.owner["name"], p.owner["uid"]]
    for c in p.containers + p.init_containers:
        out += [c.name, c.image]
    return out


def pod_with(p: PodSpec, values: list[str]) -> PodSpec:
    """`p` with the strings `pod_variables` lists replaced by `values`, in the same order."""
    it = iter(values)

    def keep(value: str | None) -> str | None:
        return None if value is None else next(it)

    def keep_set(value: str) -> str:
        return next(it) if value else value

    namespace, name, uid_, rv, created, started = (next(it) for _ in range(6))
    node, host_ip, ip, generate_name = keep(p.node), keep(p.host_ip), keep(p.ip), keep(p.generate_name)
    ids_seed, waiting, unschedulable = (
        keep_set(p.ids_seed),
        keep_set(p.waiting_message),
        keep_set(p.unschedulable_message),
    )
    labels = {k: next(it) for k in p.labels}
    annotations = None if p.annotations is None else {k: next(it) for k in p.annotations}
    owner = None if p.owner is None else {**p.owner, "name": next(it), "uid": next(it)}
    containers = tuple(Container(next(it), next(it), c.ports) for c in p.containers)
    inits = tuple(Container(next(it), next(it), c.ports) for c in p.init_containers)
    return dataclasses.replace(
        p,
        namespace=namespace,
        name=name,
        uid=uid_,
        rv=rv,
        created=created,
        started=started,
        node=node,
        host_ip=host_ip,
        ip=ip,
        generate_name=generate_name,
        ids_seed=ids_seed,
        waiting_message=waiting,
        unschedulable_message=unschedulable,
        labels=labels,
        annotations=annotations,
        owner=owner,
        containers=containers,
        init_containers=inits,
    )


def node_variables(n: NodeSpec) -> list[str]:
    out = [n.name, n.ip, n.uid, str(n.rv), n.created, n.heartbeat, n.ready_reason, n.ready_message, n.kubelet]
    if n.pod_cidr:
        out.append(n.pod_cidr)
    if n.network is not None:
        out += [n.network[1], n.network[2]]
    return out + list((n.annotations or {}).values())


def node_with(n: NodeSpec, values: list[str]) -> NodeSpec:
    it = iter(values)
    name, ip, uid_, rv, created, heartbeat, reason, message, kubelet = (next(it) for _ in range(9))
    pod_cidr = next(it) if n.pod_cidr else n.pod_cidr
    network = None if n.network is None else (n.network[0], next(it), next(it))
    annotations = None if n.annotations is None else {k: next(it) for k in n.annotations}
    return dataclasses.replace(
        n,
        name=name,
        ip=ip,
        uid=uid_,
        rv=rv,
        created=created,
        heartbeat=heartbeat,
        ready_reason=reason,
        ready_message=message,
        kubelet=kubelet,
        pod_cidr=pod_cidr,
        network=network,
        annotations=annotations,
    )


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
