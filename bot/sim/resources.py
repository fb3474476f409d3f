"""The resource types the simulated apiserver knows: paths, kinds, scopes and selectable fields."""

from __future__ import annotations

from dataclasses import dataclass

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
METADATA_FIELDS = frozenset({"metadata.name", "metadata.namespace"})


@dataclass(frozen=True)
class ResourceType:
    """One REST resource, e.g. core/v1 pods or crd.projectcalico.org/v1 ipamblocks."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    fields: frozenset[str] = METADATA_FIELDS
    subresources: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """`pods`, `daemonsets` for built-in resources (their plurals are unique), `plural.group` for CRDs."""
        return self.plural if self.group in ("", "apps") else f"{self.plural}.{self.group}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def prefix(self) -> str:
        """The URL prefix of the resource's group version."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


POD_FIELDS = METADATA_FIELDS | {
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
}
EVENT_FIELDS = METADATA_FIELDS | {
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
}
# Selectable fields whose value lives somewhere other than the dotted path of the same name.
FIELD_PATHS = {"source": "source.component"}
# Boolean fields the apiserver renders as "false" when unset.
FIELD_DEFAULTS = {"spec.hostNetwork": "false", "spec.unschedulable": "false"}

CORE = "core"
APPS = "apps"
CALICO = "crd.projectcalico.org"
OPERATOR = "operator.tigera.io"
CILIUM = "cilium.io"
COORDINATION = "coordination.k8s.io"

RESOURCES: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        "v1",
        "nodes",
        "Node",
        False,
        ("no",),
        frozenset({"metadata.name", "spec.unschedulable"}),
        ("status",),
    ),
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), frozenset({"metadata.name", "status.phase"})),
    ResourceType("", "v1", "pods", "Pod", True, ("po",), POD_FIELDS, ("log", "status")),
    ResourceType("", "v1", "events", "Event", True, ("ev",), EVENT_FIELDS),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    ResourceType("", "v1", "services", "Service", True, ("svc",)),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), subresources=("status",)),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",), subresources=("status",)),
    ResourceType(COORDINATION, "v1", "leases", "Lease", True),
    ResourceType(CALICO, "v1", "ippools", "IPPool", False),
    ResourceType(CALICO, "v1", "ipamblocks", "IPAMBlock", False),
    ResourceType(CALICO, "v1", "blockaffinities", "BlockAffinity", False),
    ResourceType(CALICO, "v1", "ipamhandles", "IPAMHandle", False),
    ResourceType(CALICO, "v1", "ipamconfigs", "IPAMConfig", False),
    ResourceType(CALICO, "v1", "felixconfigurations", "FelixConfiguration", False),
    ResourceType(CALICO, "v1", "clusterinformations", "ClusterInformation", False),
    ResourceType(CALICO, "v1", "bgpconfigurations", "BGPConfiguration", False),
    ResourceType(CALICO, "v1", "bgppeers", "BGPPeer", False),
    ResourceType(OPERATOR, "v1", "installations", "Installation", False),
    ResourceType(CILIUM, "v2", "ciliumnodes", "CiliumNode", False, ("cn", "ciliumn")),
)
BY_KEY: dict[str, ResourceType] = {r.key: r for r in RESOURCES}
BY_PATH: dict[tuple[str, str, str], ResourceType] = {(r.group, r.version, r.plural): r for r in RESOURCES}
# Groups every cluster serves; CRD groups are served only when a scenario installs them.
BUILT_IN_GROUPS = ("", "apps", COORDINATION)


def resource(key: str) -> ResourceType:
    """The resource type for a kubectl-style key (`pods`, `ipamblocks.crd.projectcalico.org`)."""
    return BY_KEY[key]


def group_of(key: str) -> str:
    return BY_KEY[key].group


def resources_in_group(group: str) -> list[ResourceType]:
    return [r for r in RESOURCES if r.group == group]
