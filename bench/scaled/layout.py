"""The arithmetic behind the scaled scenario: which node, slot, address and name every generated object has.

Pod i runs on node i % N as that node's (i // N)-th pod and has address slot 1 + i // N in the node's blocks
(slot 0 is the VXLAN tunnel address); node n owns the blocks j with j % N == n. Every 100th node
(n % 100 == 13) has an OOM-killed calico-node and its 6 newest pods stuck in ContainerCreating; every 50th
node keeps 4 leaked allocations after its pods; the kube-system pod-network pods take the slots after that."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from bench.scaled.stencil import Stencils
from bot.sim.objects import Clock, rand_suffix
from bot.sim.store import Collection

BLOCK = 64
BAD_EVERY, BAD_AT, STUCK_PER_BAD = 100, 13, 6
LEAK_EVERY, LEAKS = 50, 4
PODS_PER_WORKLOAD = 50
POOL_BASE = int(ipaddress.IPv4Address("10.128.0.0"))
NODE_BASE = int(ipaddress.IPv4Address("10.0.0.11"))
NAME = "scaled"
LEAK_BIT, SYSTEM_BIT = 1 << 63, 1 << 62

# Invertible 5-character name suffixes: an affine map on 27**5 written in apimachinery's alphabet.
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SPACE = len(_ALPHABET) ** 5
_MUL = 7_368_787
_INV = pow(_MUL, -1, _SPACE)
_DIGIT = {c: i for i, c in enumerate(_ALPHABET)}


# Two base-27 digits at a time: three lookups instead of five divmods (names are made ~10 times per pod).
_PAIRS = [_ALPHABET[k % 27] + _ALPHABET[k // 27] for k in range(27 * 27)]


def encode_suffix(i: int, salt: int) -> str:
    """Digits least significant first; decode_suffix inverts it."""
    x = (i * _MUL + salt) % _SPACE
    return _PAIRS[x % 729] + _PAIRS[x // 729 % 729] + _ALPHABET[x // 531441]


def decode_suffix(text: str, salt: int) -> int | None:
    if len(text) != 5 or any(c not in _DIGIT for c in text):
        return None
    x = 0
    for c in reversed(text):
        x = x * 27 + _DIGIT[c]
    return ((x - salt) * _INV) % _SPACE


# Random-looking leading hex for container ids; the index in the last 16 digits keeps each id unique.
_HEX48 = [hashlib.sha256(b"sandbox:%d" % k).hexdigest()[:48] for k in range(4096)]


def ip_str(value: int) -> str:
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


@dataclass(frozen=True)
class Layout:
    nodes: int
    pods: int
    blocks: int
    clock: Clock

    # -- sizes -----------------------------------------------------------------------------------------

    @functools.cached_property
    def pool_prefix(self) -> int:
        return 26 - max(0, (self.blocks - 1).bit_length())

    @property
    def pool_cidr(self) -> str:
        return f"{ip_str(POOL_BASE)}/{self.pool_prefix}"

    @functools.cached_property
    def namespaces(self) -> int:
        return max(1, min(100, self.pods // 1000))

    @functools.cached_property
    def per_namespace(self) -> int:
        return -(-self.pods // self.namespaces)

    def pods_on(self, n: int) -> int:
        return self.pods // self.nodes + (1 if n < self.pods % self.nodes else 0)

    def blocks_on(self, n: int) -> int:
        return self.blocks // self.nodes + (1 if n < self.blocks % self.nodes else 0)

    def is_bad(self, n: int) -> bool:
        return n % BAD_EVERY == BAD_AT

    def leaks(self, n: int) -> int:
        return LEAKS if n % LEAK_EVERY == 0 else 0

    @functools.cached_property
    def leaked_total(self) -> int:
        return LEAKS * (-(-self.nodes // LEAK_EVERY))

    @functools.cached_property
    def system(self) -> tuple[tuple[str, str, int], ...]:
        """kube-system pods on the pod network: (name, container, node index); their slots follow the leaks."""
        k = "calico-kube-controllers"
        return (
            (f"calico-kube-controllers-7ddc4f45bc-{encode_suffix(0, 11)}", k, 0),
            (f"coredns-76f75df574-{encode_suffix(1, 11)}", "coredns", 1 % self.nodes),
            (f"coredns-76f75df574-{encode_suffix(2, 11)}", "coredns", 2 % self.nodes),
        )

    def system_on(self, n: int) -> list[int]:
        return [x for x, (_, _, node) in enumerate(self.system) if node == n]

    @functools.cached_property
    def stuck(self) -> list[int]:
        out = []
        for n in range(BAD_AT, self.nodes, BAD_EVERY):
            count = self.pods_on(n)
            out += [k * self.nodes + n for k in range(max(0, count - STUCK_PER_BAD), count)]
        return sorted(out)

    def is_stuck(self, i: int) -> bool:
        n = i % self.nodes
        return self.is_bad(n) and i // self.nodes >= self.pods_on(n) - STUCK_PER_BAD

    def validate(self) -> None:
        if self.nodes < 1 or self.pods < 0 or self.blocks < self.nodes:
            raise ValueError("need nodes >= 1, pods >= 0 and at least one block per node (blocks >= nodes)")
        if self.pool_prefix < 9:
            raise ValueError(f"{self.blocks} /26 blocks do not fit in 10.128.0.0/9")
        worst = 1 + self.pods_on(0) + LEAKS + len(self.system)
        if (self.blocks // self.nodes) * BLOCK < worst:
            raise ValueError(
                f"{self.blocks} blocks give each node {(self.blocks // self.nodes) * BLOCK} addresses; "
                f"{worst} are needed (tunnel + pods + leaks): raise blocks"
            )

    # -- names and addresses -------------------------------------------------------------------------

    def node_name(self, n: int) -> str:
        return f"node-{n + 1:05d}"

    def node_index(self, name: str) -> int | None:
        if not (name.startswith("node-") and name[5:].isdigit() and len(name) == 10):
            return None
        n = int(name[5:]) - 1
        return n if 0 <= n < self.nodes else None

    def node_ip(self, n: int) -> str:
        return ip_str(NODE_BASE + n)

    def block_cidr(self, j: int) -> str:
        return f"{ip_str(POOL_BASE + j * BLOCK)}/26"

    def slot_ip(self, n: int, slot: int) -> str:
        j = n + (slot // BLOCK) * self.nodes
        return ip_str(POOL_BASE + j * BLOCK + slot % BLOCK)

    def slot_block(self, n: int, slot: int) -> str:
        return self.block_cidr(n + (slot // BLOCK) * self.nodes)

    @functools.cached_property
    def namespace_names(self) -> list[str]:
        return [f"tenant-{k:03d}" for k in range(self.namespaces)]

    @functools.cached_property
    def workloads(self) -> list[list[tuple[str, str]]]:
        """(app, pod-template-hash) by namespace and workload number: a few thousand pairs, made once."""
        per = -(-self.per_namespace // PODS_PER_WORKLOAD)
        return [[(f"svc-{w:02d}", rand_suffix(10, NAME, ns, w)) for w in range(per)] for ns in self.namespace_names]

    def namespace(self, i: int) -> str:
        return self.namespace_names[i // self.per_namespace]

    def workload(self, i: int) -> tuple[str, str]:
        """(app name, pod-template-hash) of pod i."""
        return self.workloads[i // self.per_namespace][(i % self.per_namespace) // PODS_PER_WORKLOAD]

    def pod_name(self, i: int) -> str:
        app, template = self.workload(i)
        return f"{app}-{template}-{encode_suffix(i, 3)}"

    def pod_index(self, name: str) -> int | None:
        i = decode_suffix(name[-5:], 3)
        if i is None or i >= self.pods or self.pod_name(i) != name:
            return None
        return i

    def pod_ip(self, i: int) -> str | None:
        return None if self.is_stuck(i) else self.slot_ip(i % self.nodes, 1 + i // self.nodes)

    def age(self, i: int) -> float:
        return 20.0 if self.is_stuck(i) else 60.0 * 24 * (1 + i % 20)

    @functools.cached_property
    def pod_stamps(self) -> list[str]:
        """Calico's allocation timestamp of a running pod i: pod_stamps[i % 20] (see `age`)."""
        return [self.clock.calico_ts(60.0 * 24 * (1 + r)) for r in range(20)]

    def sandbox(self, i: int, flag: int = 0) -> str:
        """A container id that encodes its owner, so an IPAMHandle name leads back to its index."""
        value = flag | i
        return _HEX48[(value * 2_654_435_761 >> 7) % len(_HEX48)] + f"{value:016x}"

    def leaked_pod(self, leak: int) -> tuple[str, str]:
        """(namespace, pod) recorded for leaked allocation `leak`: CronJob pods deleted long ago."""
        return f"tenant-{leak % self.namespaces:03d}", f"nightly-{leak:05d}-{encode_suffix(leak, 9)}"


class Generated(Collection):
    """A collection whose objects are computed from their index by a Layout."""

    generated = True

    def __init__(self, layout: Layout, size: int) -> None:
        self.layout = layout
        self._size = size
        self.stencils = Stencils()

    def __len__(self) -> int:
        return self._size

    def labels(self, index: int) -> Mapping[str, str]:
        labels: Mapping[str, str] = self.item(index)["metadata"].get("labels") or {}
        return labels

    def fields(self, index: int) -> Mapping[str, str]:
        return {"metadata.name": self.item(index)["metadata"]["name"]}

    def namespace_ranges(self, namespace: str) -> list[range]:
        return []
