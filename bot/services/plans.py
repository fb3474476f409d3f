"""Turning a catalogue action and its parameters into an exact plan, from what the read-only path sees.

Each builder reads through a ProbeContext (the same cached GETs the probes use), reuses the probes'
arithmetic (config.mtu, config.pod_cidr, ipam.usage), and returns the requests with the resourceVersion
of every object they change. Nothing here can write: the executor sends the plan, after approval."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.domain.errors import UsageError
from bot.probes.context import CALICO, OPERATOR, ProbeContext
from bot.probes.detect import find_cni_daemonset
from bot.probes.ipam_math import calico_usage, parse_network
from bot.probes.netconfig import MtuProbe, PodCidrProbe
from bot.remediation.catalog import ACTIONS
from bot.remediation.plan import ApiRequest, Plan

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"  # the annotation `kubectl rollout restart` sets
SANDBOX_REASONS = ("FailedCreatePodSandBox", "FailedKillPod")
STUCK_WAITING = frozenset({"ContainerCreating", "PodInitializing", ""})
MIN_MTU, MAX_MTU = 1000, 9000
# private ranges tried in order when add-ippool is given no cidr: the first /16 nothing else uses
CANDIDATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
MAX_CANDIDATES = 4096
# the runbook of a restart, by the CNI restarted: its risks are shown and its probes verify the result
CNI_RUNBOOK = {
    "calico": "calico-node-not-ready",
    "canal": "calico-node-not-ready",
    "flannel": "flannel-not-ready",
    "cilium": "cilium-agent-unhealthy",
}

Params = dict[str, str]
Builder = Callable[[ProbeContext, Params, str], Plan]


def parse_parameters(words: list[str]) -> Params:
    """`key=value` words; anything else is a one-line usage error."""
    params: Params = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"{word!r} is not key=value (e.g. node=worker-1)")
        key = key.strip().lower()
        if key in params:  # keeping the last would act on a value the user may not have meant
            raise UsageError(f"parameter {key!r} given twice")
        params[key] = value.strip()
    return params


def _allowed(action: str, params: Params) -> None:
    known = {p.strip("[]").split("=")[0] for p in ACTIONS[action].parameters.split()}
    unknown = sorted(set(params) - known)
    if unknown:
        shown = ACTIONS[action].parameters or "no parameters"
        raise UsageError(f"{action} does not take {', '.join(unknown)} (it takes {shown})")


def _rv(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _cni_daemonset(ctx: ProbeContext) -> dict[str, Any]:
    found = find_cni_daemonset(ctx.daemonsets)
    if found is None:
        raise UsageError("no CNI DaemonSet found (calico-node, kube-flannel-ds, cilium); nothing to restart")
    return found[1]


def restart_request(ds: dict[str, Any], now: str) -> ApiRequest:
    """What `kubectl rollout restart` does: a new pod-template annotation, so the controller rolls
    every pod; the resourceVersion makes the apiserver refuse it if the DaemonSet changed meanwhile."""
    meta = ds.get("metadata") or {}
    path = f"/apis/apps/v1/namespaces/{meta.get('namespace')}/daemonsets/{meta.get('name')}"
    body = {
        "metadata": {"resourceVersion": _rv(ds)},
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}},
    }
    return ApiRequest("PATCH", path, body, _rv(ds))


def plan_restart_cni(ctx: ProbeContext, params: Params, now: str) -> Plan:
    ds = _cni_daemonset(ctx)
    meta = ds["metadata"]
    return Plan(
        "restart-cni",
        "",
        ACTIONS["restart-cni"].risk,
        (restart_request(ds, now),),
        f"rollout restart of DaemonSet {meta.get('namespace')}/{meta.get('name')}",
        runbook=CNI_RUNBOOK.get(ctx.cni.name, ""),
    )


def _controller(pod: dict[str, Any]) -> str:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return ""


def plan_delete_stuck_pods(ctx: ProbeContext, params: Params, now: str) -> Plan:
    node = params.get("node", "")
    if not node:
        raise UsageError("delete-stuck-pods needs node=NAME (the node whose pods are stuck)")
    namespace = params.get("namespace", "")
    if node not in {_name(n) for n in ctx.nodes}:
        raise UsageError(f"no node {node!r} in this cluster")
    pods = ctx.reader.items("/api/v1/pods", field_selector=f"spec.nodeName={node}")
    sandbox_failures = {
        f"{(e.get('involvedObject') or {}).get('namespace')}/{(e.get('involvedObject') or {}).get('name')}"
        for reason in SANDBOX_REASONS
        for e in ctx.events(reason)
    }
    requests: list[ApiRequest] = []
    bare: list[str] = []
    for pod in pods:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        if namespace and meta.get("namespace") != namespace:
            continue
        waiting = {
            str(((cs.get("state") or {}).get("waiting") or {}).get("reason") or "")
            for cs in status.get("containerStatuses") or [{}]
        }
        stuck = status.get("phase") == "Pending" and waiting <= STUCK_WAITING and key in sandbox_failures
        if not stuck or meta.get("deletionTimestamp"):
            continue
        if not _controller(pod):
            bare.append(key)  # nothing would recreate it: deleting it would lose the workload
            continue
        body = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "preconditions": {"uid": str(meta.get("uid") or ""), "resourceVersion": _rv(pod)},
        }
        path = f"/api/v1/namespaces/{meta.get('namespace')}/pods/{meta.get('name')}"
        requests.append(ApiRequest("DELETE", path, body, _rv(pod)))
    if not requests:
        left = f"; {len(bare)} bare pod(s) left alone: {', '.join(bare[:5])}" if bare else ""
        raise UsageError(f"no controller-owned pod on {node} is stuck on a sandbox/network error{left}")
    summary = f"delete {len(requests)} stuck pod(s) on {node}" + (f" in {namespace}" if namespace else "")
    if bare:
        summary += f"; {len(bare)} bare pod(s) left alone (no controller would recreate them)"
    return Plan("delete-stuck-pods", "", ACTIONS["delete-stuck-pods"].risk, tuple(requests), summary)


def _mtu_value(params: Params, expected: int) -> int:
    if "mtu" not in params:
        return expected
    try:
        mtu = int(params["mtu"])
    except ValueError:
        raise UsageError(f"mtu={params['mtu']!r} is not a whole number") from None
    if not MIN_MTU <= mtu <= MAX_MTU:
        raise UsageError(f"mtu={mtu} is out of range ({MIN_MTU} to {MAX_MTU})")
    if mtu > expected:
        raise UsageError(f"mtu={mtu} is above the {expected} this path allows (node MTU minus encapsulation)")
    return mtu


def plan_set_mtu(ctx: ProbeContext, params: Params, now: str) -> Plan:
    cni = ctx.cni
    data = MtuProbe().run(ctx).data
    expected = data.get("expected_pod_mtu")
    if expected is None:
        raise UsageError(f"cannot compute the pod MTU: CNI {cni.name}, encapsulation {cni.encapsulation!r}")
    mtu = _mtu_value(params, int(expected))
    how = f"node MTU {data['node_mtu']} - {cni.encapsulation} {data['overhead_bytes']} = {expected}"
    already = UsageError(
        f"the {cni.name} pod MTU is already set to {mtu} ({how}): nothing to change; if pods still use an "
        "older MTU, restart the CNI agents (`fix restart-cni`)"
    )
    requests: list[ApiRequest] = []
    if cni.name in ("calico", "canal"):
        installation = ctx.installation()
        if installation is not None:  # the operator owns calico-node: it rolls the change out itself
            if ((installation.get("spec") or {}).get("calicoNetwork") or {}).get("mtu") == mtu:
                raise already
            body = {"metadata": {"resourceVersion": _rv(installation)}, "spec": {"calicoNetwork": {"mtu": mtu}}}
            requests.append(ApiRequest("PATCH", f"{OPERATOR}/installations/default", body, _rv(installation)))
        else:
            name = "calico-config" if ctx.configmap(cni.namespace, "calico-config") else "canal-config"
            cm = ctx.configmap(cni.namespace, name)
            if cm is None:
                raise UsageError(f"no calico-config ConfigMap in {cni.namespace} and no operator Installation")
            path = f"/api/v1/namespaces/{cni.namespace}/configmaps/{name}"
            if str((cm.get("data") or {}).get("veth_mtu", "")).strip() != str(mtu):
                body = {"metadata": {"resourceVersion": _rv(cm)}, "data": {"veth_mtu": str(mtu)}}
                requests.append(ApiRequest("PATCH", path, body, _rv(cm)))
            for felix in ctx.calico("felixconfigurations") or []:
                spec = felix.get("spec") or {}
                keys = {k: mtu for k in ("vxlanMTU", "ipipMTU", "wireguardMTU") if spec.get(k) not in (None, mtu)}
                if keys:
                    felix_body = {"metadata": {"resourceVersion": _rv(felix)}, "spec": keys}
                    felix_path = f"{CALICO}/felixconfigurations/{_name(felix)}"
                    requests.append(ApiRequest("PATCH", felix_path, felix_body, _rv(felix)))
            if not requests:
                raise already
            requests.append(restart_request(_cni_daemonset(ctx), now))  # calico-node reads veth_mtu at start
    elif cni.name == "cilium":
        cm = ctx.configmap(cni.namespace, "cilium-config")
        if cm is None:
            raise UsageError(f"no cilium-config ConfigMap in {cni.namespace}")
        path = f"/api/v1/namespaces/{cni.namespace}/configmaps/cilium-config"
        if str((cm.get("data") or {}).get("mtu", "")).strip() == str(mtu):
            raise already
        requests.append(
            ApiRequest("PATCH", path, {"metadata": {"resourceVersion": _rv(cm)}, "data": {"mtu": str(mtu)}}, _rv(cm))
        )
        requests.append(restart_request(_cni_daemonset(ctx), now))
    else:
        raise UsageError(
            f"set-mtu supports Calico and Cilium; {cni.name} takes its MTU from the node "
            "(set it there, see the mtu-mismatch runbook)"
        )
    return Plan(
        "set-mtu",
        "",
        ACTIONS["set-mtu"].risk,
        tuple(requests),
        f"set the {cni.name} pod MTU to {mtu} ({how}) and restart what reads it",
        parameters=(("mtu", str(mtu)),),
    )


def _taken_networks(ctx: ProbeContext) -> list[tuple[str, Any]]:
    """Every range a new pool must not overlap: pools, the pod CIDR, node podCIDRs and addresses, Services."""
    data = PodCidrProbe().run(ctx).data
    taken: list[tuple[str, Any]] = [(label, parse_network(cidr)) for label, cidr in data["pod_cidrs"].items()]
    taken += [(f"node {n} podCIDR", parse_network(c)) for n, c in data["node_pod_cidrs"].items()]
    if data.get("service_cidr"):
        taken.append(("the Service CIDR", parse_network(data["service_cidr"])))
    if data.get("kubernetes_service_ip"):
        taken.append(("the kubernetes Service IP", parse_network(f"{data['kubernetes_service_ip']}/32")))
    for node in ctx.nodes:
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") in ("InternalIP", "ExternalIP") and (net := parse_network(f"{addr.get('address')}/32")):
                taken.append((f"node {_name(node)} address", net))
    return [(label, net) for label, net in taken if net is not None]


def _conflict(net: Any, taken: list[tuple[str, Any]]) -> str:
    return next(
        (f"{label} {other}" for label, other in taken if other.version == net.version and net.overlaps(other)), ""
    )


def _choose_cidr(taken: list[tuple[str, Any]]) -> Any:
    for candidate_range in CANDIDATE_RANGES:
        for i, net in enumerate(ipaddress.ip_network(candidate_range).subnets(new_prefix=16)):
            if i >= MAX_CANDIDATES:
                break
            if not _conflict(net, taken):
                return net
    raise UsageError("no free /16 in the private ranges; pass cidr=CIDR")


def plan_add_ippool(ctx: ProbeContext, params: Params, now: str) -> Plan:
    pools = ctx.calico("ippools")
    if pools is None:
        raise UsageError("Calico's IPPool CRD is not installed: add-ippool needs Calico")
    try:
        block_size = int(params.get("block_size", "26"))
    except ValueError:
        raise UsageError(f"block_size={params['block_size']!r} is not a whole number") from None
    taken = _taken_networks(ctx)
    if "cidr" in params:
        try:
            net = ipaddress.ip_network(params["cidr"], strict=True)
        except ValueError as exc:
            raise UsageError(f"cidr={params['cidr']!r} is not a network address: {exc}") from None
        if not net.is_private:
            raise UsageError(f"cidr={net} is not a private range")
        clash = _conflict(net, taken)
        if clash:
            raise UsageError(f"cidr={net} overlaps {clash}; choose another, or leave cidr out to have one chosen")
    else:
        net = _choose_cidr(taken)
    low = 20 if net.version == 4 else 116
    high = 32 if net.version == 4 else 128
    if not (low <= block_size <= high and block_size >= net.prefixlen):
        raise UsageError(f"block_size={block_size} must be {max(low, net.prefixlen)} to {high} for {net}")
    template = next((p for p in pools if not (p.get("spec") or {}).get("disabled")), pools[0] if pools else {})
    spec_from = template.get("spec") or {}
    spec: dict[str, Any] = {
        "cidr": str(net),
        "blockSize": block_size,
        "ipipMode": spec_from.get("ipipMode", "Never"),
        "vxlanMode": spec_from.get("vxlanMode", "Never"),
        "natOutgoing": bool(spec_from.get("natOutgoing", True)),
        "nodeSelector": "all()",
    }
    name = f"cnibot-{str(net).replace('/', '-').replace('.', '-').replace(':', '-')}"
    body = {"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool", "metadata": {"name": name}, "spec": spec}
    return Plan(
        "add-ippool",
        "",
        ACTIONS["add-ippool"].risk,
        (ApiRequest("POST", f"{CALICO}/ippools", body),),
        f"create IPPool {name} for {net} "
        f"(blocks of /{block_size}, encapsulation as pool {_name(template) or 'default'})",
        parameters=(("block_size", str(block_size)), ("cidr", str(net))),
    )


def _released_block(block: dict[str, Any], offsets: set[int]) -> dict[str, Any]:
    """The block with `offsets` released as libcalico-go does: allocation cleared, ordinal back in
    `unallocated`, and attributes no longer referenced removed (the remaining indices renumbered)."""
    spec = dict(block.get("spec") or {})
    allocations = list(spec.get("allocations") or [])
    for offset in offsets:
        allocations[offset] = None
    used = sorted({a for a in allocations if a is not None})
    renumber = {old: new for new, old in enumerate(used)}
    attributes = spec.get("attributes") or []
    spec["allocations"] = [None if a is None else renumber[a] for a in allocations]
    spec["attributes"] = [attributes[old] for old in used]
    spec["unallocated"] = sorted(set(spec.get("unallocated") or []) | offsets)
    return {**block, "spec": spec}


def plan_release_leaked_ips(ctx: ProbeContext, params: Params, now: str) -> Plan:
    pools, blocks, handles = ctx.calico("ippools"), ctx.calico("ipamblocks"), ctx.calico("ipamhandles")
    if pools is None or blocks is None or handles is None:
        raise UsageError("Calico's IPAM CRDs are not installed: release-leaked-ips needs Calico (Kubernetes datastore)")
    existing = {p.key for p in ctx.pods}
    leaked = calico_usage(pools, blocks, existing).leaked
    if not leaked:
        raise UsageError("ipam.usage finds no leaked address: nothing to release")
    leaked_ips = {x["ip"] for x in leaked}
    requests: list[ApiRequest] = []
    released_per_handle: dict[str, dict[str, int]] = {}
    for block in blocks:
        spec = block.get("spec") or {}
        net = parse_network(spec.get("cidr"))
        if net is None:
            continue
        attributes = spec.get("attributes") or []
        offsets: set[int] = set()
        for offset, index in enumerate(spec.get("allocations") or []):
            if index is None or str(net.network_address + offset) not in leaked_ips:
                continue
            offsets.add(offset)
            handle_id = str((attributes[index] or {}).get("handle_id") or "")
            per_block = released_per_handle.setdefault(handle_id, {})
            per_block[str(net)] = per_block.get(str(net), 0) + 1
        if offsets:
            new = _released_block(block, offsets)
            body = {**new, "metadata": {**new["metadata"], "resourceVersion": _rv(block)}}
            body["metadata"].pop("managedFields", None)
            requests.append(ApiRequest("PUT", f"{CALICO}/ipamblocks/{_name(block)}", body, _rv(block)))
    by_handle = {str((h.get("spec") or {}).get("handleID") or _name(h)): h for h in handles}
    for handle_id, released in sorted(released_per_handle.items()):
        handle = by_handle.get(handle_id)
        if handle is None:
            continue  # no handle object: the block change alone releases the address
        counts = dict((handle.get("spec") or {}).get("block") or {})
        for cidr, n in released.items():
            counts[cidr] = int(counts.get(cidr, 0)) - n
        counts = {k: v for k, v in counts.items() if v > 0}
        path = f"{CALICO}/ipamhandles/{_name(handle)}"
        if counts:
            body = {**handle, "spec": {**(handle.get("spec") or {}), "block": counts}}
            requests.append(ApiRequest("PUT", path, body, _rv(handle)))
        else:
            body = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"resourceVersion": _rv(handle)}}
            requests.append(ApiRequest("DELETE", path, body, _rv(handle)))
    absent = tuple(sorted({f"{x['namespace']}/{x['pod']}" for x in leaked}))
    return Plan(
        "release-leaked-ips",
        "",
        ACTIONS["release-leaked-ips"].risk,
        tuple(requests),
        f"release {len(leaked)} leaked address(es) held for {len(absent)} deleted pod(s), "
        f"in {sum(r.path.startswith(f'{CALICO}/ipamblocks') for r in requests)} IPAM block(s)",
        absent_pods=absent,
    )


BUILDERS: dict[str, Builder] = {
    "restart-cni": plan_restart_cni,
    "delete-stuck-pods": plan_delete_stuck_pods,
    "set-mtu": plan_set_mtu,
    "add-ippool": plan_add_ippool,
    "release-leaked-ips": plan_release_leaked_ips,
}


def build_plan(action: str, params: Params, ctx: ProbeContext, *, cluster: str, now: datetime | None = None) -> Plan:
    if action not in ACTIONS:
        raise UsageError(f"no action {action!r}; `cnibot remediation list` shows them: {', '.join(ACTIONS)}")
    _allowed(action, params)
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = BUILDERS[action](ctx, params, stamp)
    given = dict(plan.parameters) or params
    return Plan(
        plan.action,
        cluster,
        plan.risk,
        plan.requests,
        plan.summary,
        tuple(sorted(given.items())),
        plan.absent_pods,
        plan.runbook or ACTIONS[action].runbooks[0],
    )
