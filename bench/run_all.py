"""Runs every benchmark; results land in bench/results/*.json (copied into the README by hand)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import index_build, long_paste, match_cold, match_warm, report_scale, slack_load

if __name__ == "__main__":
    index_build.main()
    match_warm.main()
    match_cold.main()
    long_paste.main()
    slack_load.main()
    report_scale.main()
