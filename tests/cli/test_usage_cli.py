"""Bad usage, as the README promises it: exit status 2 and one `cnibot...: error:` line on stderr, nothing
on stdout, for out-of-range numbers, empty values, conflicting flags, unwritable or unreadable files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cnibot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNIBOT_") and k != "KUBECONFIG"}
    env |= {"HOME": str(tmp_path), "CNIBOT_DB": str(tmp_path / "cnibot.db")}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, cwd=ROOT, env=env, timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sim", "serve", "--port", "99999"), "argument --port: '99999': give a port from 0 to 65535"),
        (("sim", "serve", "--port", "-1"), "argument --port: '-1': give a port from 0 to 65535"),
        (("serve", "--port", "99999"), "argument --port: '99999': give a port from 0 to 65535"),
        (("serve", "--config", "{tmp}/latin1.yaml"), "latin1.yaml: not UTF-8 text (byte 0xe9 at offset 24)"),
        (("serve", "--config", "{tmp}/missing.yaml"), "missing.yaml: cannot read it (No such file or directory)"),
        (("feedback", "export", "--output", "{tmp}/no/dir"), "dir: cannot write it (No such file or directory)"),
        (("feedback", "export", "--output", "{tmp}"), "cannot write it (Is a directory)"),
        (("audit", "--since", "²h"), "argument --since: '²h': give a duration like 30m, 12h or 7d"),
        (("audit", "--since", ""), "argument --since: '': give a duration"),
        (("audit", "--json", "--csv"), "argument --csv: not allowed with argument --json"),
        (("probe", "list", "--json", "-o", "json"), "argument -o/--output: not allowed with argument --json"),
        (("probe", "all", "--sim", "ipam-exhausted", "-o", "wide"), "-o wide is for `probe list`"),
        (("probe", "list", "extra"), "unexpected argument 'extra' after 'list'"),
        (("probe", "all", "--sim", ""), "argument --sim: empty scenario"),
        (("report", "ipam", "--sim", "healthy", "--png", ""), "argument --png: empty file name"),
        (("feedback", "export", "--output", ""), "argument --output: empty file name"),
        (("match", "--batch", ""), "argument --batch: empty file name"),
        (("eval", "tests/data/eval.jsonl", "--cv", "0"), "argument --cv: '0': give a number of folds from 2 to 50"),
        (("eval", "tests/data/eval.jsonl", "--cv", "100000"), "argument --cv: '100000': give a number of folds"),
        (("plan", "delete-stuck-pods", "node=a", "NODE=b", "--sim", "ipam-exhausted"), "parameter 'node' given twice"),
        ((), "cnibot: error: the following arguments are required: COMMAND"),
    ],
)
def test_bad_usage_exits_2_with_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "latin1.yaml").write_bytes("CNIBOT_CLUSTER_NAME: caf\xe9\n".encode("latin-1"))
    done = cnibot(tmp_path, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    err = done.stderr.decode()
    assert (done.returncode, done.stdout) == (2, b""), err
    assert err.startswith("cnibot") and ": error: " in err and message in err and err.count("\n") == 1, err


def test_help_still_goes_to_stdout_with_exit_0(tmp_path: Path) -> None:
    done = cnibot(tmp_path, "--help")
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.decode().startswith("usage: cnibot")
