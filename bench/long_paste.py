"""Long pastes: a 20,000-line log (about 1.7 MB) holding one real error, and a 5 KB log-shipper JSON
record whose error sits past character 5,000, against a one-line paste; warm matcher, one at a time."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import save, summary, timed_ms
from bot.config import KnowledgeSettings
from bot.index.load import open_matcher

ERROR = (
    'E0314 08:22:41.907113    2231 remote_runtime.go:193] "RunPodSandbox from runtime service failed" '
    'err="rpc error: code = Unknown desc = failed to setup network for sandbox \\"e0a94c1f3b\\": plugin '
    'type=\\"calico\\" failed (add): failed to request 1 IPv4 addresses. IPAM allocated only 0"'
)
NOISE = 'I0314 08:{m:02d}:{s:02d}.{us:06d}    2231 kubelet.go:{n}] "SyncLoop (PLEG): event for pod" pod="shop/cart-{h}"'


def long_log(lines: int = 20_000, seed: int = 7) -> str:
    rng = random.Random(seed)
    out = [
        NOISE.format(
            m=rng.randrange(60),
            s=rng.randrange(60),
            us=rng.randrange(10**6),
            n=rng.randrange(3000),
            h=f"{rng.getrandbits(40):010x}",
        )
        for _ in range(lines)
    ]
    out[lines * 2 // 3] = ERROR
    return "\n".join(out)


def shipper_record() -> str:
    record: dict[str, Any] = {"kubernetes": {"labels": {f"label{i}": "x" * 40 for i in range(100)}}}
    record["stream"] = "stderr"
    record["log"] = 'failed to setup network for sandbox: plugin type="calico" failed (add): no IPs available in block'
    return json.dumps(record)


def main(repeat: int = 5) -> dict[str, Any]:
    matcher = open_matcher(KnowledgeSettings(), progress=False)
    log, record = long_log(), shipper_record()
    one_line = ERROR
    answers = {
        "log": matcher.match(log).best,
        "record": matcher.match(record).best,
    }
    result = {
        "log_bytes": len(log.encode()),
        "record_bytes": len(record),
        "record_error_at": record.index("failed to setup"),
        "answers": {k: (v.runbook if v else None) for k, v in answers.items()},
        "one_line": summary(timed_ms(lambda: matcher.match(one_line), repeat * 4)),
        "long_log": summary(timed_ms(lambda: matcher.match(log), repeat)),
        "shipper_record": summary(timed_ms(lambda: matcher.match(record), repeat)),
        "unit": "ms",
    }
    save("long_paste", result)
    return result


if __name__ == "__main__":
    main()
