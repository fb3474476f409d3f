"""Generated Calico IPAM objects for the scaled scenario: IPAMBlocks, BlockAffinities and IPAMHandles."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

from bench.scaled.layout import (
    BLOCK,
    LEAK_BIT,
    LEAK_EVERY,
    LEAKS,
    PODS_PER_WORKLOAD,
    POOL_BASE,
    STUCK_PER_BAD,
    SYSTEM_BIT,
    Generated,
    Layout,
    encode_suffix,
)
from bot.sim.calico import (
    affinity_name,
    affinity_spec,
    block_name,
    block_spec,
    crd_object,
    handle_spec,
    pod_attribute,
    tunnel_attribute,
    tunnel_handle,
)
from bot.sim.obj import Obj
from bot.sim.store import encode_item

VXLAN = "vxlanTunnelAddress"


# The text json.dumps gives for calico.pod_attribute / tunnel_attribute, for splicing without dicts.
POD_ATTRIBUTE = (
    '{"handle_id":"k8s-pod-network.%s","secondary":{"namespace":"%s","node":"%s","pod":"%s","timestamp":"%s"}}'
)
TUNNEL_ATTRIBUTE = '{"handle_id":"%s","secondary":{"node":"%s","type":"%s"}}'


class Slots:
    """What each address slot of a node holds: the tunnel, a pod, a leak, a system pod, or nothing."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def values(self, n: int, slot: int) -> tuple[str, ...] | None:
        """(node,) for the tunnel address; (sandbox, namespace, node, pod, timestamp) for a pod's."""
        lay = self.layout
        node = lay.node_name(n)
        if slot == 0:
            return (node,)
        pods = lay.pods_on(n)
        if slot <= pods:
            i = (slot - 1) * lay.nodes + n
            if lay.is_stuck(i):
                return None
            return lay.sandbox(i), lay.namespace(i), node, lay.pod_name(i), lay.clock.calico_ts(lay.age(i))
        leaks = lay.leaks(n)
        if slot <= pods + leaks:
            leak = (n // LEAK_EVERY) * LEAKS + (slot - pods - 1)
            namespace, pod = lay.leaked_pod(leak)
            return lay.sandbox(leak, LEAK_BIT), namespace, node, pod, lay.clock.calico_ts(60 * 24 * 9)
        system = lay.system_on(n)
        x = slot - pods - leaks - 1
        if x < len(system):
            name = lay.system[system[x]][0]
            stamp = lay.clock.calico_ts(60 * 24 * 29)
            return lay.sandbox(system[x], SYSTEM_BIT), "kube-system", node, name, stamp
        return None


def _attribute(values: tuple[str, ...]) -> Obj:
    if len(values) == 1:
        return tunnel_attribute(values[0], VXLAN)
    sandbox, namespace, node, pod, stamp = values
    return pod_attribute(sandbox, namespace, pod, node, stamp)


def _attribute_text(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return TUNNEL_ATTRIBUTE % (tunnel_handle(values[0], VXLAN), values[0], VXLAN)
    return POD_ATTRIBUTE % values


class Blocks(Generated):
    def __init__(self, layout: Layout) -> None:
        super().__init__(layout, layout.blocks)
        self.slots = Slots(layout)

    def _contents(self, index: int) -> tuple[int, list[int | None], list[tuple[str, ...]]]:
        """The block's allocations and attribute values. Pods fill most slots, so their values are made
        inline here (the same as Slots.values; a test compares them): this loop runs 64 times per block."""
        lay = self.layout
        nodes, per, stamps = lay.nodes, lay.per_namespace, lay.pod_stamps
        n, first = index % nodes, (index // nodes) * BLOCK
        node = lay.node_name(n)
        pods = lay.pods_on(n)
        stuck_from = pods - STUCK_PER_BAD if lay.is_bad(n) else pods
        used = 1 + pods + lay.leaks(n) + len(lay.system_on(n))
        allocations: list[int | None] = [None] * BLOCK
        attributes: list[tuple[str, ...]] = []
        for offset in range(min(BLOCK, used - first)):
            slot = first + offset
            values: tuple[str, ...] | None
            if 0 < slot <= stuck_from:
                i = (slot - 1) * nodes + n
                ns = i // per
                app, template = lay.workloads[ns][(i % per) // PODS_PER_WORKLOAD]
                values = (
                    lay.sandbox(i),
                    lay.namespace_names[ns],
                    node,
                    f"{app}-{template}-{encode_suffix(i, 3)}",
                    stamps[i % 20],
                )
            else:
                values = self.slots.values(n, slot)
            if values is not None:
                allocations[offset] = len(attributes)
                attributes.append(values)
        return n, allocations, attributes

    def _object(self, index: int, n: int, allocations: Any, attributes: Any, count: int) -> Obj:
        lay = self.layout
        cidr = lay.block_cidr(index)
        spec = block_spec(cidr, lay.node_name(n), allocations, attributes, count + 1)
        if isinstance(allocations, str):  # a skeleton for item_json: unallocated is spliced in too
            spec["unallocated"] = "<<unallocated>>"
        return crd_object(
            "IPAMBlock",
            block_name(cidr),
            spec,
            rv=10_000 + index,
            created=lay.clock.ts(60 * 24 * 29),
            generation=count + 1,
        )

    def item(self, index: int) -> Obj:
        n, allocations, attributes = self._contents(index)
        return self._object(index, n, allocations, [_attribute(v) for v in attributes], len(attributes))

    def item_json(self, index: int, typed: bool) -> str:
        n, allocations, attributes = self._contents(index)
        skeleton = self._object(index, n, "<<allocations>>", "<<attributes>>", len(attributes))
        text = encode_item(skeleton, typed)
        unallocated = ",".join(str(k) for k, a in enumerate(allocations) if a is None)
        return (
            text.replace(
                '"<<allocations>>"', "[" + ",".join("null" if a is None else str(a) for a in allocations) + "]"
            )
            .replace('"<<attributes>>"', "[" + ",".join(_attribute_text(v) for v in attributes) + "]")
            .replace('"<<unallocated>>"', "[" + unallocated + "]")
        )

    def index_of(self, namespace: str | None, name: str) -> int | None:
        parts = name.split("-")
        if namespace or len(parts) != 5 or parts[4] != "26" or not all(p.isdigit() for p in parts[:4]):
            return None
        value = 0
        for p in parts[:4]:
            value = value * 256 + int(p)
        offset = value - POOL_BASE
        j, rest = divmod(offset, BLOCK)
        return (
            j if rest == 0 and 0 <= j < self.layout.blocks and block_name(self.layout.block_cidr(j)) == name else None
        )


class Affinities(Generated):
    def __init__(self, layout: Layout) -> None:
        super().__init__(layout, layout.blocks)
        self._blocks = Blocks(layout)

    def item(self, index: int) -> Obj:
        lay = self.layout
        node, cidr = lay.node_name(index % lay.nodes), lay.block_cidr(index)
        return crd_object(
            "BlockAffinity",
            affinity_name(node, cidr),
            affinity_spec(node, cidr),
            rv=20_000 + index,
            created=lay.clock.ts(60 * 24 * 29),
        )

    def index_of(self, namespace: str | None, name: str) -> int | None:
        if namespace or len(name) < 11:
            return None
        j = self._blocks.index_of(None, name[11:])
        if j is None or self.layout.node_name(j % self.layout.nodes) != name[:10]:
            return None
        return j


class Handles(Generated):
    """Tunnel handles, then pod handles (stuck pods have none), then leaked ones, then kube-system pods'."""

    def __init__(self, layout: Layout) -> None:
        self.live = layout.pods - len(layout.stuck)
        super().__init__(layout, layout.nodes + self.live + layout.leaked_total + len(layout.system))

    def _pod_at(self, h: int) -> int:
        """The index of the h-th pod that has an address (skipping stuck pods)."""
        stuck = self.layout.stuck
        i = h
        while True:
            nxt = h + bisect.bisect_right(stuck, i)
            if nxt == i:
                return i
            i = nxt

    def item(self, index: int) -> Obj:
        lay = self.layout
        created = lay.clock.ts(60 * 24)
        rv = 300_000 + index
        n_tun, n_pod, n_leak = lay.nodes, self.live, lay.leaked_total
        if index < n_tun:
            handle, cidr = tunnel_handle(lay.node_name(index), VXLAN), lay.block_cidr(index)
        elif index < n_tun + n_pod:
            i = self._pod_at(index - n_tun)
            handle = f"k8s-pod-network.{lay.sandbox(i)}"
            cidr = lay.slot_block(i % lay.nodes, 1 + i // lay.nodes)
        elif index < n_tun + n_pod + n_leak:
            leak = index - n_tun - n_pod
            n = (leak // LEAKS) * LEAK_EVERY
            handle = f"k8s-pod-network.{lay.sandbox(leak, LEAK_BIT)}"
            cidr = lay.slot_block(n, 1 + lay.pods_on(n) + leak % LEAKS)
        else:
            x = index - n_tun - n_pod - n_leak
            n = lay.system[x][2]
            handle = f"k8s-pod-network.{lay.sandbox(x, SYSTEM_BIT)}"
            before = [y for y in lay.system_on(n) if y < x]
            cidr = lay.slot_block(n, 1 + lay.pods_on(n) + lay.leaks(n) + len(before))
        return crd_object("IPAMHandle", handle.lower(), handle_spec(handle, {cidr: 1}), rv=rv, created=created)

    def index_of(self, namespace: str | None, name: str) -> int | None:
        lay = self.layout
        if namespace:
            return None
        if name.startswith("vxlan-tunnel-addr-"):
            n = lay.node_index(name.removeprefix("vxlan-tunnel-addr-"))
            return n
        if not name.startswith("k8s-pod-network.") or len(name) != 16 + 64:
            return None
        try:
            value = int(name[-16:], 16)
        except ValueError:
            return None
        if value & LEAK_BIT:
            i, flag, base = value & ~LEAK_BIT, LEAK_BIT, lay.nodes + self.live
            ok = i < lay.leaked_total
        elif value & SYSTEM_BIT:
            i, flag, base = value & ~SYSTEM_BIT, SYSTEM_BIT, lay.nodes + self.live + lay.leaked_total
            ok = i < len(lay.system)
        else:
            i, flag = value, 0
            ok = i < lay.pods and not lay.is_stuck(i)
            base = lay.nodes - bisect.bisect_right(lay.stuck, i)
        if not ok or name != f"k8s-pod-network.{lay.sandbox(i, flag)}":
            return None
        return base + i

    def fields(self, index: int) -> Mapping[str, str]:
        return {"metadata.name": self.item(index)["metadata"]["name"]}
