"""The ipam-exhausted scenario: a Calico pool whose every address is taken, three quarters by leaks."""

from __future__ import annotations

from datetime import datetime
from itertools import cycle

from bot.sim.base import apps, coredns, node_name, spread
from bot.sim.calico import crd_object, ip_pool_spec
from bot.sim.model import Scenario
from bot.sim.objects import Clock, hex64, rand_suffix
from bot.sim.pods import CREATING, RUNNING, Container
from bot.sim.scenarios_calico import CalicoCluster, CalicoSetup

# ipam-exhausted: a /22 pool (16 /26 blocks) over 4 nodes, every address taken, three of four leaked.
EXHAUSTED_RUNNING = {"api": 57, "frontend": 48, "cart": 48, "catalog": 48}
EXHAUSTED_CHECKOUT = (48, 30)  # running, stuck in ContainerCreating
LEAKS_PER_POD = 3  # leaked allocations made on a node before each live pod's, by churned batch pods


class _LeakyAllocator:
    """Before each live allocation, leaves LEAKS_PER_POD allocations behind for pods that are long gone
    (a crashed node and CronJob churn with IPAM garbage collection not keeping up)."""

    def __init__(self, c: CalicoCluster) -> None:
        self.c = c
        self.n = 0

    def leak(self, node: str) -> None:
        self.n += 1
        b = self.c.b
        if self.n % 10:
            namespace, pod = "batch", f"nightly-report-{28867000 + self.n * 60}-{rand_suffix(5, 'leak', self.n)}"
        else:
            namespace, pod = "shop", f"checkout-6d9f8b7c5d-{rand_suffix(5, 'leak', self.n)}"
        self.c.ipam.assign_pod(node, namespace, pod, hex64("leaked-sandbox", self.n), prefer=b.pod_cidrs[node])

    def __call__(self, node: str, namespace: str, pod: str, sandbox: str) -> tuple[str, dict[str, str]]:
        for _ in range(LEAKS_PER_POD):
            self.leak(node)
        return self.c.allocate(node, namespace, pod, sandbox)


def ipam_exhausted(now: datetime | None = None) -> Scenario:
    pool = "10.244.0.0/22"
    c = CalicoCluster("ipam-exhausted", Clock.at(now), CalicoSetup(pool=pool, nodes=4))
    b = c.b
    leaky = _LeakyAllocator(c)
    b.allocate = leaky
    placement = spread(b.node_names)
    # calico-kube-controllers took node-1's first pod address before the leaks began: it is node-1's turn
    # in the round-robin, and the leaks that would have preceded it come now.
    next(placement)
    for _ in range(LEAKS_PER_POD):
        leaky.leak(node_name(0))
    coredns(b, [next(placement), next(placement)])
    apps(b, EXHAUSTED_RUNNING, placement)
    running, stuck = EXHAUSTED_CHECKOUT
    stuck_nodes = cycle(b.node_names)
    _, checkout = b.deployment(
        "shop",
        "checkout",
        containers=(Container("checkout", "ghcr.io/example/checkout:2.9.0", (8080,)),),
        nodes=[next(placement) for _ in range(running)] + [next(stuck_nodes) for _ in range(stuck)],
        states=[RUNNING] * running + [CREATING] * stuck,
    )
    for node in b.node_names:  # fill whatever each node's last block still has
        while any(blk.node == node and blk.free() is not None for blk in c.ipam.blocks):
            leaky.leak(node)
    for n, pod in enumerate(p for p in checkout if p["status"]["phase"] == "Pending"):
        sandbox = hex64("failed-sandbox", pod["metadata"]["name"])
        prefix = (
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "
            f'"{sandbox}": plugin type="calico" failed (add): '
        )
        reason = (
            "failed to allocate IP address: no IPs available in block"
            if n % 5 == 4
            else "failed to request 1 IPv4 addresses. IPAM allocated only 0"
        )
        b.event(
            pod,
            "Scheduled",
            f"Successfully assigned shop/{pod['metadata']['name']} to {pod['spec']['nodeName']}",
            type_="Normal",
            component="default-scheduler",
            host="",
            first_ago=20,
            last_ago=20,
        )
        b.event(pod, "FailedCreatePodSandBox", prefix + reason, count=8 + n % 9, first_ago=19.5, last_ago=0.5)
    b.custom(
        "ippools.crd.projectcalico.org",
        crd_object(
            "IPPool",
            "spare-ipv4-ippool",
            ip_pool_spec("10.245.0.0/24", vxlan="Always", disabled=True),
            rv=b.rv(),
            created=b.clock.ts(60 * 24 * 10),
        ),
    )
    return c.finish(
        "Calico IPAM exhausted: the 10.244.0.0/22 pool's 16 /26 blocks are all allocated across 4 nodes, but only "
        "about a quarter of the addresses belong to pods that exist; 30 new checkout pods are stuck in "
        "ContainerCreating with FailedCreatePodSandBox. A second pool, 10.245.0.0/24, is disabled.",
        allow_writes=True,
        facts={"pending_pods": stuck, "disabled_pools": 1},
    )
