from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.knowledge.normalize import normalize, plugin_name, strip_prefix, unwrap
from bot.knowledge.tokens import tokenize

KUBELET_EVENT = (
    "  Warning  FailedCreatePodSandBox  3m (x12 over 10m)  kubelet  Failed to create pod sandbox: rpc error: "
    'code = Unknown desc = failed to setup network for sandbox "4f2a9c0e1d3b5a7c9e1f3a5b7c9d1e3f5a7b9c1d3e5f'
    '7a9b1c3d5e7f9a1b3c5d": plugin type="calico" failed (add): no IPs available in block'
)
JOURNAL_LINE = (
    'Nov 03 10:12:01 node2 kubelet[1234]: E1103 10:12:01.123456    1234 pod_workers.go:1298] "Error syncing '
    'pod, skipping" err="failed to \\"CreatePodSandbox\\" for \\"web-7d9f8b6c5-x2x9z_default(1b2c)\\" with '
    'CreatePodSandboxError: \\"Failed to create sandbox for pod \\\\\\"web\\\\\\": rpc error: code = Unknown '
    'desc = failed to setup network for sandbox \\\\\\"abc\\\\\\": plugin type=\\\\\\"flannel\\\\\\" failed '
    '(add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory\\""'
)


def test_kubelet_event_unwraps_to_the_plugin_message() -> None:
    assert normalize(KUBELET_EVENT) == "FailedCreatePodSandBox no IPs available in block"


def test_journald_klog_line_with_escaped_quotes_unwraps() -> None:
    assert normalize(JOURNAL_LINE) == (
        "loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory"
    )


def test_prefixes_of_each_log_format_are_stripped() -> None:
    assert strip_prefix("2024-01-02 03:04:05.123 [ERROR][77] felix/int_dataplane.go 123: boom") == "boom"
    assert strip_prefix("2024-05-01T10:00:00.000Z stderr F [WARNING] it broke") == "it broke"
    assert strip_prefix('level=error msg="Error while initializing daemon" subsys=daemon') == (
        "Error while initializing daemon"
    )
    assert strip_prefix('{"level":"error","msg":"failed to acquire lease","node":"n1"}') == ("failed to acquire lease")
    assert strip_prefix("\x1b[31mE1103 10:12:01.123456    99 main.go:1] red\x1b[0m") == "red"


def test_identifiers_are_scrubbed_but_ports_kept() -> None:
    text = normalize(
        "dial tcp 10.96.0.1:443: i/o timeout from calico-node-x7k2p uid 1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    )
    assert "10.96" not in text and "x7k2p" not in text and "1b4e28ba" not in text
    assert "port 443" in text


def test_plugin_name_and_unwrap() -> None:
    assert plugin_name(KUBELET_EVENT) == "calico"
    assert unwrap("rpc error: code = Unknown desc = plain") == "plain"


def test_tokens_split_camel_case_and_chinese() -> None:
    tokens = tokenize("FailedCreatePodSandBox: no IPs in 地址池耗尽")
    assert {"failed", "create", "sand", "box", "no_ips", "ips", "地址", "耗尽"} <= set(tokens)
    assert "ps" not in tokens  # "IPs" is not camel case


@given(st.text(max_size=400))
def test_normalize_never_fails_and_leaves_no_ansi(text: str) -> None:
    out = normalize(text)
    assert isinstance(out, str)
    assert "\x1b[" not in out
