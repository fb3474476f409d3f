"""Container log text in each component's own format (Calico felix/confd/bird, klog, CoreDNS, Cilium)."""

from __future__ import annotations

from bot.sim.objects import Clock


def _calico(clock: Clock, lines: list[tuple[float, str, int, str]]) -> str:
    """Lines of (minutes ago, level, pid, 'file.go 123: message') in Calico's log format."""
    return "".join(f"{clock.log_ts(ago)} [{level}][{pid}] {text}\n" for ago, level, pid, text in lines)


def _startup(clock: Clock, node: str, ip: str, age: float) -> str:
    return _calico(
        clock,
        [
            (age, "INFO", 9, "startup/startup.go 432: Early log level set to info"),
            (age, "INFO", 9, f"startup/utils.go 126: Using NODENAME environment for node name {node}"),
            (age, "INFO", 9, f"startup/utils.go 138: Determined node name: {node}"),
            (age, "INFO", 9, "startup/startup.go 94: Starting node node-name=" + node),
            (
                age,
                "INFO",
                9,
                f"startup/autodetection_methods.go 103: Using autodetected IPv4 address on interface eth0: {ip}/24",
            ),
            (age, "INFO", 9, "startup/startup.go 760: Node IPv4 changed, will check for conflicts"),
            (age, "INFO", 9, "startup/startup.go 1059: Using IPv4 address from environment: IP=autodetect"),
        ],
    )


def calico_node_healthy(clock: Clock, node: str, ip: str, *, bgp: bool, age: float = 90) -> str:
    text = _startup(clock, node, ip, age)
    lines: list[tuple[float, str, int, str]] = [
        (age - 0.1, "INFO", 62, "felix/daemon.go 374: Successfully loaded configuration. GOMAXPROCS=4"),
        (age - 0.1, "INFO", 62, "felix/int_dataplane.go 1955: Completed first update to dataplane. secsSinceStart=1.4"),
    ]
    if bgp:
        lines += [
            (age - 0.1, "INFO", 88, "confd/client.go 1050: Recompute BGP peerings: all peerings recomputed"),
        ]
        text += _calico(clock, lines)
        peers = [p for p in ("10_0_0_11", "10_0_0_12", "10_0_0_13") if p != ip.replace(".", "_")]
        text += "".join(f"bird: Mesh_{p}: State changed to up\n" for p in peers)
        lines = []
    for ago in (30, 20, 10, 1):
        lines.append(
            (
                ago,
                "INFO",
                62,
                "felix/summary.go 100: Summarising 12 dataplane reconciliation loops over 1m2.4s: "
                "avg=6ms longest=21ms (resync-routes-v4)",
            )
        )
    return text + _calico(clock, lines)


def calico_node_bgp_down(clock: Clock, node: str, ip: str, peers: list[str], age: float = 90) -> str:
    """BIRD cannot reach its mesh peers: Connection refused, the readiness probe fails."""
    text = _startup(clock, node, ip, age)
    text += _calico(
        clock,
        [
            (
                age - 0.1,
                "INFO",
                62,
                "felix/int_dataplane.go 1955: Completed first update to dataplane. secsSinceStart=1.6",
            ),
            (
                age - 0.1,
                "INFO",
                88,
                f"confd/client.go 1050: Recompute BGP peerings: HostBGPConfig(node={node}; name=ip_addr_v4) updated; "
                "HostBGPConfig(node=*; name=ip_addr_v4) updated",
            ),
        ],
    )
    for ago in (6, 4, 2, 0.5):
        text += "".join(
            f"bird: Mesh_{peer.replace('.', '_')}: Socket error: bind header: connect: Connection refused\n"
            for peer in peers
        )
        text += _calico(
            clock,
            [
                (
                    ago,
                    "WARNING",
                    312,
                    "confd/health.go 202: Number of node(s) with BGP peering established = 0",
                ),
                (
                    ago,
                    "INFO",
                    88,
                    "confd/client.go 1050: Recompute BGP peerings: HostBGPConfig(node=*; name=ip_addr_v4) updated",
                ),
            ],
        )
    text += "".join(f"bird: Mesh_{peer.replace('.', '_')}: State changed to start\n" for peer in peers)
    return text


def calico_node_oom(clock: Clock, node: str, ip: str) -> str:
    """A calico-node that gets OOMKilled while syncing a large cluster."""
    return _startup(clock, node, ip, 3) + _calico(
        clock,
        [
            (2.6, "INFO", 62, "felix/daemon.go 374: Successfully loaded configuration. GOMAXPROCS=4"),
            (2.5, "INFO", 62, "felix/calc_graph.go 467: Starting calculation graph in-sync handling"),
            (2.4, "WARNING", 62, 'felix/health.go 211: Reporter is not ready. name="InternalDataplaneMainLoop"'),
        ],
    )


def calico_kube_controllers(clock: Clock, *, leaked: int = 0) -> str:
    lines = [
        (600.0, "INFO", 1, "main.go 99: Loaded configuration from environment config=&config.Config{...}"),
        (600.0, "INFO", 1, "main.go 163: Starting status report routine"),
        (599.0, "INFO", 1, "ipam.go 226: Will run periodic IPAM sync every 7m30s"),
        (599.0, "INFO", 1, "main.go 530: Started the IPAM controller"),
    ]
    if leaked:
        lines += [
            (
                7.5,
                "INFO",
                1,
                f"ipam.go 1097: Garbage collection of leaked IPs skipped: {leaked} candidate(s) still within "
                "the grace period",
            ),
        ]
    return _calico(clock, lines)


def _klog(clock: Clock, lines: list[tuple[float, str, str]], pid: int = 1) -> str:
    return "".join(f"{level}{clock.klog_ts(ago)}{pid:>8} {text}\n" for ago, level, text in lines)


def flannel_ok(clock: Clock, node: str, ip: str, subnet: str, age: float = 60 * 24 * 30) -> str:
    return _klog(
        clock,
        [
            (
                age,
                "I",
                "main.go:212] CLI flags config: {etcdEndpoints:http://127.0.0.1:4001,http://127.0.0.1:2379 "
                "kubeSubnetMgr:true ipMasq:true subnetFile:/run/flannel/subnet.env netConfPath:/etc/kube-flannel/"
                "net-conf.json setNodeNetworkUnavailable:true}",
            ),
            (age, "I", "kube.go:139] Waiting 10m0s for node controller to sync"),
            (age, "I", "kube.go:146] Node controller sync successful"),
            (age, "I", f"main.go:232] Created subnet manager: Kubernetes Subnet Manager - {node}"),
            (age, "I", "main.go:469] Found network config - Backend type: vxlan"),
            (age, "I", f"kube.go:636] List of node({node}) annotations: map[string]string{{...}}"),
            (
                age,
                "I",
                f"main.go:357] Current network or subnet (10.244.0.0/16, {subnet}) is not equal to previous "
                "one (0.0.0.0/0, 0.0.0.0/0), trying to recycle old iptables rules",
            ),
            (age, "I", "main.go:413] Wrote subnet file to /run/flannel/subnet.env"),
            (age, "I", "main.go:417] Running backend."),
            (age, "I", "vxlan_network.go:65] watching for new subnet leases"),
            (age, "I", "main.go:438] Waiting for all goroutines to exit"),
            (age, "I", f"iptables.go:290] generated 7 rules (public ip {ip})"),
        ],
    )


def flannel_no_pod_cidr(clock: Clock, node: str, ago: float) -> str:
    return _klog(
        clock,
        [
            (
                ago,
                "I",
                "main.go:212] CLI flags config: {etcdEndpoints:http://127.0.0.1:4001,http://127.0.0.1:2379 "
                "kubeSubnetMgr:true ipMasq:true subnetFile:/run/flannel/subnet.env netConfPath:/etc/kube-flannel/"
                "net-conf.json setNodeNetworkUnavailable:true}",
            ),
            (
                ago,
                "W",
                "client_config.go:618] Neither --kubeconfig nor --master was specified.  Using the "
                "inClusterConfig.  This might not work.",
            ),
            (ago, "I", "kube.go:139] Waiting 10m0s for node controller to sync"),
            (ago, "I", "kube.go:469] Starting kube subnet manager"),
            (ago - 0.01, "I", "kube.go:146] Node controller sync successful"),
            (ago - 0.01, "I", f"main.go:232] Created subnet manager: Kubernetes Subnet Manager - {node}"),
            (ago - 0.01, "I", "main.go:235] Installing signal handlers"),
            (ago - 0.01, "I", "main.go:469] Found network config - Backend type: vxlan"),
            (
                ago - 0.01,
                "E",
                f'main.go:343] Error registering network: failed to acquire lease: node "{node}" pod cidr not assigned',
            ),
            (ago - 0.01, "I", "main.go:449] Stopping shutdownHandler..."),
        ],
    )


def cilium_agent(clock: Clock, node: str, pod_cidr: str, age: float = 60 * 24 * 30) -> str:
    stamp = clock.when(age).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = clock.when(1).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'level=info msg="Cilium 1.15.6 a09e05e6 2024-06-10T11:06:49+00:00 go version go1.21.11 linux/amd64" '
        f"subsys=daemon time={stamp}\n"
        f'level=info msg="Opening connection to the Kubernetes API" subsys=k8s-client time={stamp}\n'
        f'level=info msg="Retrieved node information from cilium node" nodeName={node} subsys=daemon time={stamp}\n'
        f'level=info msg="Received own node information from API server" ipAddr.ipv4={pod_cidr} '
        f"k8sNodeIP=... nodeName={node} subsys=daemon time={stamp}\n"
        f'level=info msg="Using cluster-pool IPAM" podCIDRs="[{pod_cidr}]" subsys=ipam time={stamp}\n'
        f'level=info msg="Setting up VXLAN tunnel mode" subsys=daemon time={stamp}\n'
        f'level=info msg="Daemon initialization completed" bootstrapTime=6.81s subsys=daemon time={stamp}\n'
        f'level=info msg="Serving cilium health API" subsys=health-server time={stamp}\n'
        f'level=info msg="regenerating all endpoints" reason="one or more identities created or deleted" '
        f"subsys=endpoint-manager time={later}\n"
    )


def kube_proxy(clock: Clock, node: str, ip: str, age: float = 60 * 24 * 30) -> str:
    return _klog(
        clock,
        [
            (age, "I", 'server_others.go:72] "Using iptables proxy"'),
            (age, "I", f'server.go:1050] "Successfully retrieved node IP(s)" IPs=["{ip}"]'),
            (age, "I", 'server_others.go:168] "Using iptables Proxier"'),
            (age, "I", 'proxier.go:246] "Setting route_localnet=1 to allow node-ports on localhost"'),
            (age, "I", 'server.go:865] "Version info" version="v1.29.4"'),
            (age, "I", 'config.go:188] "Starting service config controller"'),
            (age, "I", "shared_informer.go:318] Caches are synced for service config"),
        ],
    )


def coredns(clock: Clock) -> str:
    return (
        ".:53\n"
        "[INFO] plugin/reload: Running configuration SHA512 = "
        "591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5f046dd37f1cf888b953814040d180f52594972691cd6ff41be96639138a43908\n"
        "CoreDNS-1.11.1\n"
        "linux/amd64, go1.20.7, ae2bbc2\n"
    )


def coredns_no_upstream(clock: Clock) -> str:
    """CoreDNS on a broken pod network: upstream lookups time out."""
    return coredns(clock) + "".join(
        f"[ERROR] plugin/errors: 2 {n}. A: read udp 10.244.0.3:{41000 + n}->10.96.0.10:53: i/o timeout\n"
        for n in range(3)
    )


def app(image: str) -> str:
    if image.startswith("nginx"):
        return (
            "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration\n"
            "/docker-entrypoint.sh: Configuration complete; ready for start up\n"
        )
    return f"starting {image.split('/')[-1]}\nlistening on :8080\n"
