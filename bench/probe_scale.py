"""`cnibot probe all --json` against a simulated cluster of 5,000 nodes, 150,000 pods and 10,000 IPAM
blocks. The simulated apiserver runs in its own process (as a real one would); the probe run is a fresh
`cnibot` process whose wall time and peak memory (max RSS) are measured."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import save

ROOT = Path(__file__).resolve().parent.parent
NODES, PODS, BLOCKS = 5_000, 150_000, 10_000

SERVER = """
import sys
from pathlib import Path
from bench.scaled import scaled_scenario
from bot.sim.server import SimCluster
sim = SimCluster(scaled_scenario(nodes={nodes}, pods={pods}, blocks={blocks})).start()
sim.write_kubeconfig(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
sim.stop()
"""


@contextmanager
def scaled_apiserver(scratch: Path) -> Iterator[Path]:
    """The scaled simulated apiserver in a process of its own while the block runs; yields its kubeconfig."""
    kubeconfig = scratch / "kubeconfig"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(nodes=NODES, pods=PODS, blocks=BLOCKS), str(kubeconfig)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield kubeconfig
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch, scaled_apiserver(Path(scratch)) as kubeconfig:
        # the index must be current so the run measures probes, not an index build
        subprocess.run([str(ROOT / ".venv/bin/cnibot"), "index", "build", "--quiet"], check=True, cwd=ROOT)
        timing = Path(scratch) / "time.txt"
        started = time.perf_counter()
        done = subprocess.run(
            [
                *("/usr/bin/time", "-o", str(timing), "-f", "%U %S %e %M"),
                *(str(ROOT / ".venv/bin/cnibot"), "probe", "all", "--json", "--kubeconfig", str(kubeconfig)),
            ],
            capture_output=True,
            cwd=ROOT,
        )
        wall = time.perf_counter() - started
        user, system, elapsed, peak_kib = timing.read_text().split()[-4:]
    if done.returncode != 0:
        raise SystemExit(done.stderr.decode())
    document = json.loads(done.stdout)
    result = {
        "cluster": {"nodes": NODES, "pods": PODS, "ipam_blocks": BLOCKS},
        "seconds": round(float(elapsed), 2),
        "wall_seconds_with_process_start": round(wall, 2),
        "peak_rss_mib": round(int(peak_kib) / 1024, 1),
        "cpu_seconds": {"user": float(user), "system": float(system)},
        "statuses": {r["probe"]: r["status"] for r in document["results"]},
        "per_probe_seconds": {r["probe"]: r["seconds"] for r in document["results"]},
    }
    save("probe_scale", result)
    return result


if __name__ == "__main__":
    main()
