"""Cold start: `cnibot match --json TEXT` as a fresh process, as a user would run it, many times."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import save, summary, timed_ms

ROOT = Path(__file__).resolve().parent.parent
CNIBOT = ROOT / ".venv" / "bin" / "cnibot"
TEXT = 'Warning FailedCreatePodSandBox kubelet plugin type="calico" failed (add): no IPs available in block'


def run_once() -> None:
    done = subprocess.run([str(CNIBOT), "match", "--json", TEXT], capture_output=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(done.stderr.decode())


def main(repeat: int = 15) -> dict[str, Any]:
    run_once()  # the index must exist and the OS page cache hold the files, as on any second use
    result = {"command": f"cnibot match --json '{TEXT}'", **summary(timed_ms(run_once, repeat)), "unit": "ms"}
    save("match_cold", result)
    return result


if __name__ == "__main__":
    main()
