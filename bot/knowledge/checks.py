"""`cnibot runbook check`: everything that must hold for the knowledge base to be trusted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from bot.domain.runbook import Runbook
from bot.knowledge.loader import read_runbooks
from bot.knowledge.problems import Problem
from bot.knowledge.signatures import SignatureSet, flatten

# Other parts of the system and outside checks refer to these ids; they must always exist.
REQUIRED_IDS: tuple[str, ...] = (
    "cni-config-uninitialized",
    "cni-config-invalid",
    "cni-plugin-missing",
    "cni-daemonset-crashloop",
    "ipam-exhausted",
    "pod-cidr-conflict",
    "pod-cross-node-connectivity",
    "pod-egress-unreachable",
    "mtu-mismatch",
    "calico-node-not-ready",
    "flannel-not-ready",
    "cilium-agent-unhealthy",
    "network-policy-not-enforced",
    "arp-fdb-overflow",
    "kube-proxy-iptables-scale",
)
REQUIRED_SECTIONS: dict[str, tuple[str, ...]] = {
    "ipam-exhausted": ("Case study",),
    "mtu-mismatch": ("Case study",),
}


def check_runbooks(
    runbooks: list[Runbook],
    *,
    probe_ids: Iterable[str],
    required_ids: Iterable[str] = REQUIRED_IDS,
    action_ids: Iterable[str] | None = None,
) -> list[Problem]:
    """Cross-file checks over parsed runbooks. Parsing problems are reported by the loader."""
    problems: list[Problem] = []
    known_probes = set(probe_ids)
    counts = Counter(rb.id for rb in runbooks)
    ids = set(counts)
    for rb in runbooks:
        if counts[rb.id] > 1:
            problems.append(Problem(rb.path, "id", f"{rb.id!r} is used by {counts[rb.id]} runbooks"))
    for rid in required_ids:
        if rid not in ids:
            problems.append(Problem("runbooks", "", f"required runbook {rid!r} is missing"))

    signatures = SignatureSet.from_runbooks(runbooks)
    own_sets = {rb.id: SignatureSet((rb.id, s) for s in rb.signatures) for rb in runbooks}
    sample_owner: dict[str, str] = {}
    for rb in runbooks:
        flat_samples = [flatten(s) for s in rb.samples]
        problems.extend(_own_signature_problems(rb, flat_samples, own_sets[rb.id]))
        problems.extend(_cross_match_problems(rb, flat_samples, signatures))
        for i, sample in enumerate(flat_samples):
            other = sample_owner.setdefault(sample.lower(), rb.id)
            if other != rb.id:
                problems.append(Problem(rb.path, f"samples[{i}]", f"is also a sample of {other!r}"))
        for i, step in enumerate(rb.diagnosis):
            if step.probe is not None and step.probe not in known_probes:
                problems.append(
                    Problem(
                        rb.path,
                        f"diagnosis[{i}].probe",
                        f"unknown probe id {step.probe!r}; known: {', '.join(sorted(known_probes))}",
                    )
                )
        if action_ids is not None:
            known_actions = set(action_ids)
            for i, fix in enumerate(rb.remediation):
                if fix.action is not None and fix.action not in known_actions:
                    problems.append(
                        Problem(
                            rb.path,
                            f"remediation[{i}].action",
                            f"unknown action {fix.action!r}; `cnibot remediation list` shows: "
                            + ", ".join(sorted(known_actions)),
                        )
                    )
                if fix.action is not None and not fix.mutating:
                    problems.append(Problem(rb.path, f"remediation[{i}].action", "an action step must be mutating"))
        for i, related in enumerate(rb.related):
            if related not in ids:
                problems.append(Problem(rb.path, f"related[{i}]", f"no runbook has id {related!r}"))
            elif related == rb.id:
                problems.append(Problem(rb.path, f"related[{i}]", "a runbook cannot be related to itself"))
        for heading in REQUIRED_SECTIONS.get(rb.id, ()):
            if rb.section(heading) is None:
                problems.append(Problem(rb.path, "body", f"needs a `## {heading}` section"))
    return problems


def _own_signature_problems(rb: Runbook, flat_samples: list[str], own: SignatureSet) -> list[Problem]:
    matched = {id(hit.signature) for sample in flat_samples for hit in own.hits(sample, flat=True)}
    return [
        Problem(rb.path, f"signatures[{i}]", f"{sig.label} matches none of this runbook's samples")
        for i, sig in enumerate(rb.signatures)
        if id(sig) not in matched
    ]


def _cross_match_problems(rb: Runbook, flat_samples: list[str], signatures: SignatureSet) -> list[Problem]:
    problems = []
    for i, sample in enumerate(flat_samples):
        best = signatures.best(sample, flat=True)
        own = best.get(rb.id)
        own_weight = own.weight if own else 0.0
        for other_id, hit in best.items():
            if other_id != rb.id and hit.weight > own_weight:
                problems.append(
                    Problem(
                        rb.path,
                        f"samples[{i}]",
                        f"matches {other_id!r} signature {hit.signature.label} (weight {hit.weight:g}) "
                        f"more strongly than its own best (weight {own_weight:g})",
                    )
                )
    return problems


def check_directory(
    directory: Path, *, probe_ids: Mapping[str, str] | Iterable[str], action_ids: Iterable[str] | None = None
) -> list[Problem]:
    """Parse every runbook in `directory` and run every check; an empty list means all is well."""
    runbooks, problems = read_runbooks(directory)
    return problems + check_runbooks(runbooks, probe_ids=probe_ids, action_ids=action_ids)
