"""The matcher on the shipped runbooks and the real index: samples, look-alikes, long pastes, the eval set."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from bot.knowledge.batch import read_batch, thread_fold, thread_key
from bot.knowledge.loader import read_lookalikes, read_runbooks
from bot.services.evaluation import prediction_of, score

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "tests" / "data" / "eval.jsonl"
REPORTS = ROOT / "runbooks" / "reports.jsonl"
# Real reports from threads the development set does not hold, labelled without running cnibot and measured once
# before anything was changed for them (README "Quality"); only ever measured. Draws A and B (88), then draw C
# (82). Some share a thread or an error string with the hand-written evaluation cases (README: "How independent").
FRESH = ROOT / "tests" / "data" / "fresh-2026-12-06.jsonl"
FRESH_C = ROOT / "tests" / "data" / "fresh-2026-12-06-c.jsonl"
FRESH_SETS = (FRESH, FRESH_C)
RUNBOOKS, _ = read_runbooks(ROOT / "runbooks")
LOOKALIKES, _ = read_lookalikes(ROOT / "runbooks" / "lookalikes.yaml")


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda rb: rb.id)
def test_every_sample_matches_its_own_runbook(matcher, runbook) -> None:
    for result in matcher.match_many(list(runbook.samples)):
        assert result.confident, result.query
        assert result.best.runbook == runbook.id, (result.query, result.best)


def test_lookalike_samples_abstain_and_say_what_they_look_like(matcher) -> None:
    texts = [s for x in LOOKALIKES for s in x.samples]
    for text, result in zip(texts, matcher.match_many(texts), strict=True):
        assert not result.confident, (text, result.best)


def test_answer_has_score_why_and_at_least_three_matches(matcher) -> None:
    result = matcher.match("no IPs available in block")
    data = result.to_json()
    assert data["confident"] is True
    assert data["matches"][0]["runbook"] == "ipam-exhausted"
    assert "no IPs available in block" in data["matches"][0]["why"]
    assert len(data["matches"]) >= 3
    assert all(0.0 <= m["score"] <= 1.0 for m in data["matches"])
    assert [m["score"] for m in data["matches"]] == sorted((m["score"] for m in data["matches"]), reverse=True)


def test_chinese_paste_matches(matcher) -> None:
    result = matcher.match("Pod 一直没有 IP，看起来是 IPAM 地址耗尽")
    assert result.confident and result.best.runbook == "ipam-exhausted"


def test_plain_text_not_about_networks_abstains(matcher) -> None:
    result = matcher.match("the quarterly report spreadsheet has a formula error in column F")
    assert not result.confident


def _noise_log(lines: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = ["Reconciling", "Synced", "watch", "GET /healthz 200", "leader", "lease renewed", "cache"]
    return [
        f"I1103 10:{i // 3600 % 60:02d}:{i // 60 % 60:02d}.{i:06d}  1 controller.go:{rng.randint(10, 999)}] "
        f"{rng.choice(words)} {rng.randint(0, 10**6)}"
        for i in range(lines)
    ]


def test_a_twenty_thousand_line_log_with_one_cni_error_finds_it(matcher) -> None:
    lines = _noise_log(20_000)
    lines[13_577] = (
        'E1103 10:13:01.000001  1 pod_workers.go:1298] "Error syncing pod, skipping" '
        'err="failed to setup network for sandbox: plugin type=\\"flannel\\" failed (add): '
        'loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory"'
    )
    result = matcher.match("\n".join(lines))
    assert result.confident
    assert result.best.runbook == "flannel-not-ready"
    assert result.lines_scanned == 20_000


def test_a_paste_with_two_faults_answers_each(matcher) -> None:
    lines = _noise_log(40)
    lines[5] = 'Warning FailedCreatePodSandBox kubelet plugin type="calico" failed (add): no IPs available in block'
    lines[30] = "ping: local error: message too long, mtu=1450"
    result = matcher.match("\n".join(lines))
    runbooks = [g.runbook for g in result.groups]
    assert {"ipam-exhausted", "mtu-mismatch"} <= set(runbooks)
    assert result.to_json()["groups"]


def fused_report(matcher, path: Path):
    """What `cnibot eval PATH` prints for the fused matcher, and the cases it read."""
    cases = read_batch(str(path), labelled=True)
    results = matcher.match_many([c.text for c in cases])
    return cases, score("fused", cases, [prediction_of(r) for r in results])


def test_eval_set_meets_the_targets(matcher) -> None:
    cases, report = fused_report(matcher, EVAL)
    assert len(cases) >= 100
    assert sum(c.expect == "none" for c in cases) >= 15
    # measured 0.990 / 1.000 / 0.949, every runbook >= 0.86 (README); held at the measured values minus 2 points
    assert report.top1_rate >= 0.97, report.misses
    assert report.top3_rate >= 0.98, report.misses
    assert report.abstention_rate >= 0.929, report.misses
    assert {rb: hits / total for rb, (hits, total) in report.per_runbook.items() if hits / total < 0.84} == {}


@pytest.mark.parametrize(
    ("path", "cni", "none", "floors"),
    [
        # measured 0.806 / 0.931 / 0.938 (58, 67 of 72; 15 of 16)
        (FRESH, 72, 16, (0.786, 0.911, 0.918)),
        # measured 0.879 / 0.985 / 0.938 (58, 65 of 66; 15 of 16)
        (FRESH_C, 66, 16, (0.859, 0.965, 0.918)),
    ],
    ids=["draws-a-b", "draw-c"],
)
def test_fresh_real_reports_hold_the_measured_numbers(matcher, path, cni, none, floors) -> None:
    _, report = fused_report(matcher, path)
    assert (report.cni_cases, report.none_cases) == (cni, none)
    # held at the measured values minus 2 points
    top1, top3, abstention = floors
    assert report.top1_rate >= top1, report.misses
    assert report.top3_rate >= top3, report.misses
    assert report.abstention_rate >= abstention, report.misses


def test_the_fresh_reports_come_from_threads_neither_set_holds() -> None:
    """No fresh thread is a development report's (what cnibot learns from) or an evaluation case's URL."""
    known = {thread_key(c.source, 0) for path in (REPORTS, EVAL) for c in read_batch(str(path), labelled=True)}
    fresh = [thread_key(c.source, 0) for path in FRESH_SETS for c in read_batch(str(path), labelled=True)]
    assert len(set(fresh)) == len(fresh)
    assert known.isdisjoint(fresh)


def test_one_thread_spelt_two_ways_is_one_thread_and_one_fold() -> None:
    """Cross-validation folds by thread_key: a comment's anchor, a trailing slash, http or a capitalised
    `www.` host must not put one thread's reports on both sides of a fold."""
    spellings = [
        "https://github.com/projectcalico/calico/issues/4604",
        "https://github.com/projectcalico/calico/issues/4604#issuecomment-812345678",
        "http://GitHub.com/projectcalico/calico/issues/4604/",
        "https://www.github.com/projectcalico/calico/issues/4604",
    ]
    assert {thread_key(s, line) for line, s in enumerate(spellings)} == {spellings[0]}
    assert len({thread_fold(thread_key(s, 0), 5) for s in spellings}) == 1
    # the query names a thread on some trackers; a reference that is not an address stays as written
    assert thread_key("https://bugzilla.redhat.com/show_bug.cgi?id=1966521", 1).endswith("?id=1966521")
    assert thread_key("shape from containerd/containerd#8419", 1) == "shape from containerd/containerd#8419"
    assert thread_key("", 12) == "line 12"


def test_every_development_report_names_its_thread_and_no_thread_dominates() -> None:
    """What the README says of the development set: each report has its thread's address, and no thread
    (however its address is spelt) holds more than two, so one long thread cannot weigh on a fold."""
    cases = read_batch(str(REPORTS), labelled=True)
    assert [c.line for c in cases if "://" not in c.source] == []
    per_thread = Counter(thread_key(c.source, c.line) for c in cases)
    assert max(per_thread.values()) <= 2, per_thread.most_common(3)


def blind_readings(path: Path) -> dict[int, dict]:
    """The blind second reading of a labelled file (`X.audit.jsonl` beside `X.jsonl`), by the file's line."""
    rows = [json.loads(line) for line in path.with_suffix(".audit.jsonl").read_text(encoding="utf-8").splitlines()]
    return {row["line"]: row for row in rows}


def test_the_blind_reading_of_fresh_draws_a_and_b_covers_every_case_and_mostly_agrees() -> None:
    """A second reader named a runbook for each case from its text alone (README, "How independent")."""
    audit = blind_readings(FRESH)
    cases = read_batch(str(FRESH), labelled=True)
    assert sorted(audit) == [c.line for c in cases]
    pod_network = [c for c in cases if c.expect != "none"]
    agreed = sum(audit[c.line]["best"] in {c.expect, *c.also} for c in pod_network)
    assert (agreed, len(pod_network)) == (67, 72)


def cross_validated(knowledge_settings, train_fraction: float = 1.0):
    from bot.config import Settings
    from bot.services.evaluation import cross_validate
    from bot.wiring import App

    app = App(Settings(knowledge=knowledge_settings))
    training, report_rows, classifier_data, word_data = app.training()
    return cross_validate(
        app.matcher,
        str(REPORTS),
        training=training,
        report_rows=report_rows,
        classifier_data=classifier_data,
        word_data=word_data,
        train_fraction=train_fraction,
    )


def test_real_reports_cross_validated_meet_the_measured_numbers(knowledge_settings) -> None:
    """The development set (real reports from public threads), each fold answered by a matcher whose
    calibration never saw it and whose search cannot see its passages."""
    report = cross_validated(knowledge_settings)
    assert report.cni_cases >= 660 and report.none_cases >= 285
    # measured 0.837 / 0.974 / 0.920, every runbook >= 0.76 (README); held at the measured values minus 2 points
    assert report.top1_rate >= 0.817, report.misses
    assert report.top3_rate >= 0.954, report.misses
    assert report.abstention_rate >= 0.900, report.misses
    assert {rb: hits / total for rb, (hits, total) in report.per_runbook.items() if hits / total < 0.74} == {}


def test_a_learning_curve_point_learns_from_fewer_reports_and_measures_the_same_cases(knowledge_settings) -> None:
    """`eval --cv 5 --train-fraction 0.25`: the same 952 cases, answered by matchers that learnt from a
    quarter of the other folds' threads; measured 0.809 / 0.958 / 0.840 against 0.837 / 0.974 / 0.920
    with all of them (README "Quality"). Fewer non-CNI reports learnt from, fewer abstentions."""
    report = cross_validated(knowledge_settings, train_fraction=0.25)
    assert report.cni_cases >= 660 and report.none_cases >= 285
    assert report.abstention_rate <= 0.88, "a quarter of the reports should not abstain like all of them"
    assert report.top1_rate >= 0.78


def test_the_development_set_shares_no_text_with_the_eval_set() -> None:
    evaluation = "\n".join(c.text for c in read_batch(str(EVAL), labelled=True))
    for case in read_batch(str(REPORTS), labelled=True):
        runs = {case.text[i : i + 60] for i in range(0, max(1, len(case.text) - 59), 20)}
        assert not any(len(r) == 60 and r in evaluation for r in runs), case.line


def test_eval_and_fresh_cases_are_not_copied_into_runbook_samples() -> None:
    samples = {" ".join(s.split()).lower() for rb in RUNBOOKS for s in rb.samples}
    cases = [c for path in (EVAL, *FRESH_SETS) for c in read_batch(str(path), labelled=True)]
    copied = [c.text[:60] for c in cases if " ".join(c.text.split()).lower() in samples]
    assert copied == []


def test_fullwidth_text_reads_as_plain(matcher) -> None:
    result = matcher.match("ＮＯ ＩＰｓ available in block")
    assert result.confident and result.best.runbook == "ipam-exhausted"


@pytest.mark.parametrize(
    ("text", "runbook"),
    [
        ("新扩容的节点上 Pod 一直拿不到 IP", "ipam-exhausted"),
        ("跨节点的 Pod 之间 ping 不通，同一节点上的可以", "pod-cross-node-connectivity"),
        ("小包能通，大文件上传就卡住", "mtu-mismatch"),
    ],
)
def test_a_symptom_written_only_in_chinese_finds_its_runbook(matcher, text: str, runbook: str) -> None:
    result = matcher.match(text)
    assert result.matches[0].runbook == runbook, [(m.runbook, round(m.score, 2)) for m in result.matches[:3]]


def test_a_short_paste_with_two_faults_is_answered_per_fault(matcher) -> None:
    paste = "\n".join(
        [
            'E0314 kubelet Failed to create pod sandbox: plugin type="calico" failed (add): no IPs available in block',
            'E0314 kubelet Failed to create pod sandbox: failed to find plugin "portmap" in path [/opt/cni/bin]',
            'E0314 kubelet Failed to create pod sandbox: plugin type="calico" failed (add): no IPs available in block',
        ]
    )
    result = matcher.match(paste)
    assert {g.runbook for g in result.groups} == {"ipam-exhausted", "cni-plugin-missing"}


def test_one_strong_error_line_drowned_by_prose_is_answered_as_its_own_fault(matcher, monkeypatch) -> None:
    error = (
        'crio[13591]: time="2026-07-24 16:18:23.971633376+02:00" level=error '
        'msg="Error deleting network: invalid version \\"\\": the version is empty"'
    )
    paste = f"the node is NotReady and the flannel pod keeps restarting, pods hang\n{error}"
    whole, line = matcher._match_short(paste).best.score, matcher._match_short(error).best.score
    assert whole < line, (whole, line)
    # a threshold between the two: the whole paste alone would get no answer, its error line does
    monkeypatch.setattr(matcher, "threshold", (whole + line) / 2)
    result = matcher.match(paste)
    assert result.confident and [g.runbook for g in result.groups] == ["cni-config-invalid"], result.best


def test_an_error_deep_inside_a_long_json_record_is_found(matcher) -> None:
    record = {"kubernetes": {"labels": {f"team.example.com/label{i}": "x" * 40 for i in range(100)}}}
    record["log"] = 'plugin type="calico" failed (add): failed to request 1 IPv4 addresses. IPAM allocated only 0'
    text = json.dumps(record)
    assert text.index("IPAM allocated") > 5000
    result = matcher.match(text)
    assert result.confident and result.best.runbook == "ipam-exhausted"


@pytest.mark.parametrize(
    "text",
    [
        '{"level":"info","ts":"2026-01-12T08:00:03.114Z","caller":"entrypoint.sh","msg":"Retrying waiting for IPAM-D"}',
        "aws-node-x8k2q   1/2   CrashLoopBackOff   9 (2m ago)   31m",
        "weave-net-4hx9z   1/2   Init:CrashLoopBackOff   5   9m",  # one pod-row signature for every agent
        # the kubelet's back-off event names the container; a CNI agent's is not an application crash
        "Warning  BackOff  2m  kubelet  Back-off restarting failed container weave in pod weave-net-7kq2d_kube-system",
    ],
)
def test_the_amazon_vpc_cni_agent_crash_looping_is_the_crash_loop_runbook(matcher, text: str) -> None:
    result = matcher.match(text)
    assert result.confident and result.best.runbook == "cni-daemonset-crashloop", result.best


@pytest.mark.parametrize(
    "text",
    [
        # libcni's version parsing (containernetworking/cni pkg/version/plugin.go), as CRI-O logs it
        'level=error msg="Error deleting network: invalid version \\"\\": the version is empty"',
        'plugin type="ipvlan" failed (add): decoding version info: missing field cniVersion',
    ],
)
def test_libcni_version_errors_are_an_invalid_config(matcher, text: str) -> None:
    result = matcher.match(text)
    assert result.confident and result.best.runbook == "cni-config-invalid", result.best


@pytest.mark.parametrize(
    ("text", "lookalike"),
    [
        (
            'Warning  Failed  12s (x3 over 45s)  kubelet  Error: configmap "nginx-conf" not found',
            "missing-config-object",
        ),
        ('Warning  Failed  12s (x3)  kubelet  Error: configmap "nginx-conf" not found', "missing-config-object"),
        ("Feature request: support choosing the VXLAN port per node pool", "feature-discussion"),
    ],
)
def test_non_network_faults_found_in_real_reports_abstain(matcher, text: str, lookalike: str) -> None:
    result = matcher.match(text)
    assert not result.confident, result.best
    # which non-CNI passage is nearest, the new look-alike's or a real non-CNI report's, turns on wording
    assert result.lookalike is not None and result.lookalike.id in {lookalike, "reported-not-cni"}, result.lookalike


def test_explanations_are_words_not_regexes(matcher) -> None:
    result = matcher.match(
        "Warning  FailedCreatePodSandBox  3m  kubelet  Failed to create pod sandbox: rpc error: code = Unknown "
        'desc = failed to setup network for sandbox "5b1e": plugin type="calico" failed (add): '
        "failed to request 1 IPv4 addresses. IPAM allocated only 0"
    )
    why = result.best.why
    assert '"failed to request 1 IPv4 addresses. IPAM allocated only 0" is a known error' in why
    assert "\\\\" not in why and "regex" not in why
    assert " sand," not in why and "FailedCreatePodSandBox" in why


def test_explanations_quote_chinese_as_phrases_not_character_pairs(matcher) -> None:
    why = matcher.match("新扩容的节点上 Pod 一直拿不到 IP").best.why
    shared = why.split("shares the words ", 1)[1]
    assert "节点上" in shared or "新扩容的" in shared, why
    words = [w.strip() for w in shared.split(",")]
    # a character pair cut out of a longer phrase ("点上" of "节点上") is never shown on its own
    assert not [w for w in words if len(w) == 2 and any(w in longer for longer in words if longer != w)], why


def test_threshold_curve_counts_answers_to_non_cni_text_against_precision() -> None:
    from bot.knowledge.batch import Case
    from bot.services.evaluation import Prediction, threshold_curve

    cases = [
        Case(1, "a", "ipam-exhausted"),
        Case(2, "b", "mtu-mismatch"),
        Case(3, "c", "none"),
        Case(4, "d", "none"),
    ]
    predictions = [
        Prediction(True, ("ipam-exhausted",), 0.9),
        Prediction(True, ("pod-cidr-conflict",), 0.5),  # wrong
        Prediction(True, ("mtu-mismatch",), 0.45),  # an answer to non-CNI text
        Prediction(False, ("mtu-mismatch",), 0.95, not_cni=True),  # a look-alike first: never an answer
    ]
    low, high = threshold_curve(cases, predictions, (0.4, 0.6))
    assert (low.top1, low.answers, low.abstention) == (0.5, 3, 0.5)
    assert low.precision == 1 / 3
    assert (high.top1, high.answers, high.precision, high.abstention) == (0.5, 1, 1.0, 1.0)


def test_every_report_has_its_blind_reading_and_the_also_rule_holds() -> None:
    """runbooks/reports.audit.jsonl reads every report again without its label; where that reader's
    runbook differs from ours but the reader calls ours plausible, both readings count (README, Quality)."""
    audit = blind_readings(REPORTS)
    cases = read_batch(str(REPORTS), labelled=True)
    assert sorted(audit) == [c.line for c in cases]
    for case in cases:
        reading = audit[case.line]
        if "none" in (case.expect, reading["best"]):
            continue
        if case.expect in reading["plausible"]:
            assert reading["best"] in {case.expect, *case.also}, case.line


@pytest.mark.parametrize("word", ["calico", "network", "show", "list", "123", "MTU", "cni0"])
def test_a_one_word_paste_gets_no_confident_answer(matcher, word: str) -> None:
    """One word names no fault; before this rule "calico" was answered calico-node-not-ready at 0.99."""
    assert not matcher.match(word).confident


def test_a_one_word_known_error_string_and_two_words_still_answer(matcher) -> None:
    assert matcher.match("NetworkPluginNotReady").best.runbook == "cni-config-uninitialized"
    assert matcher.match("NetworkPluginNotReady").confident
    result = matcher.match("mtu issue")
    assert result.confident and result.best.runbook == "mtu-mismatch"
