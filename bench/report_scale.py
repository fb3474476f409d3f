"""The IPAM report and the light alert check against the simulated cluster of 5,000 nodes, 150,000 pods
and 10,000 IPAM blocks (the apiserver in its own process, as in probe_scale): each a fresh `cnibot`
process whose wall time and peak memory (max RSS) are measured. The report includes drawing the chart."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import save
from bench.probe_scale import BLOCKS, NODES, PODS, scaled_apiserver

ROOT = Path(__file__).resolve().parent.parent
CNIBOT = str(ROOT / ".venv/bin/cnibot")


def measured(args: list[str], scratch: Path, env: dict[str, str]) -> tuple[dict[str, float], bytes]:
    timing = scratch / "time.txt"
    done = subprocess.run(
        ["/usr/bin/time", "-o", str(timing), "-f", "%U %S %e %M", CNIBOT, *args],
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode())
    user, system, elapsed, peak_kib = timing.read_text().split()[-4:]
    return {
        "seconds": round(float(elapsed), 2),
        "peak_rss_mib": round(int(peak_kib) / 1024, 1),
        "cpu_seconds": round(float(user) + float(system), 2),
    }, done.stdout


def main() -> dict[str, Any]:
    import os

    with tempfile.TemporaryDirectory() as tmp, scaled_apiserver(Path(tmp)) as kubeconfig:
        scratch = Path(tmp)
        env = {**os.environ, "CNIBOT_DB": str(scratch / "cnibot.db"), "HOME": str(scratch)}
        cluster = ["--kubeconfig", str(kubeconfig)]
        chart = scratch / "chart.png"
        report, out = measured(["report", "ipam", "--json", "--png", str(chart), *cluster], scratch, env)
        document = json.loads(out)
        report["chart_bytes"] = chart.stat().st_size
        light, _ = measured(["probe", "ipam.pools", "--json", *cluster], scratch, env)
        full, _ = measured(["probe", "ipam.usage", "--json", *cluster], scratch, env)
    result = {
        "cluster": {"nodes": NODES, "pods": PODS, "ipam_blocks": BLOCKS},
        "report_ipam_with_chart": report,
        "alert_check_ipam_pools": light,
        "ipam_usage_probe": full,
        "pools": [(p["name"], p["allocated"], p["capacity"]) for p in document["pools"]],
        "leaked_total": document["leaked_total"],
    }
    save("report_scale", result)
    return result


if __name__ == "__main__":
    main()
