"""Command line: parse arguments, call a service, print. Imports are lazy so that `cnibot match`
starts in well under a second (torch, kubernetes and slack are never imported on that path)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from bot.config import debug_enabled
from bot.domain.errors import CnibotError, UsageError


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cnibot", description="ChatOps for Kubernetes pod-network (CNI) incidents.")
    # required: a bare `cnibot` is bad usage (one line on stderr, exit 2), not a help page on stdout
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)

    sub.add_parser("run", help="the main job: the Slack bot when tokens are set, else the local console")
    serve = sub.add_parser("serve", help="the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP on --port)")
    serve.add_argument(
        "--port", type=_port, default=3000, help="HTTP port for Slack requests and health (default 3000)"
    )
    serve.add_argument(
        "--config",
        metavar="FILE",
        type=_non_empty("file name"),
        help="YAML settings file (the environment variables' names)",
    )
    _cluster_options(serve)
    remediation = sub.add_parser("remediation", help="the approval-gated remediation actions")
    rem_sub = remediation.add_subparsers(dest="remediation_command", metavar="ACTION", parser_class=_Parser)
    rem_list = rem_sub.add_parser("list", help="the catalogue: action, risk, approvers needed, runbooks")
    _output_option(rem_list)
    plan = sub.add_parser("plan", help="the exact plan of a remediation and its server-side dry run (changes nothing)")
    plan.add_argument("action", help="a catalogue action (cnibot remediation list), e.g. restart-cni")
    plan.add_argument("parameters", nargs="*", metavar="KEY=VALUE", help="the action's parameters, e.g. node=worker-1")
    plan.add_argument("--json", action="store_true", help="print one JSON document")
    _cluster_options(plan)
    report = sub.add_parser("report", help="IPAM usage reports: run one now, or show the schedule")
    report_sub = report.add_subparsers(dest="report_command", metavar="ACTION", parser_class=_Parser)
    ipam = report_sub.add_parser("ipam", help="the IPAM usage report once: text, --json, --png FILE, --post")
    ipam.add_argument("--json", action="store_true", help="print one JSON document")
    ipam.add_argument("--png", metavar="FILE", type=_non_empty("file name"), help="write the chart (PNG) to FILE")
    ipam.add_argument("--post", action="store_true", help="post it to CNIBOT_REPORT_CHANNEL (needs SLACK_BOT_TOKEN)")
    ipam.add_argument("--no-record", action="store_true", help="do not keep this snapshot in the history")
    ipam.add_argument("--cluster", metavar="NAME", help="one of the clusters reports cover (default: the default)")
    _cluster_options(ipam)
    schedule = report_sub.add_parser("schedule", help="when the scheduled report runs next (CNIBOT_REPORT_SCHEDULE)")
    schedule.add_argument("--count", type=int, default=5, help="how many fire times (default 5)")
    feedback = sub.add_parser("feedback", help="pastes users labelled in Slack ([Not this one])")
    fb_sub = feedback.add_subparsers(dest="feedback_command", metavar="ACTION", parser_class=_Parser)
    export = fb_sub.add_parser("export", help="as JSON Lines in the eval format (text, expect, also, source)")
    export.add_argument(
        "--output", metavar="FILE", type=_non_empty("file name"), help="write to FILE instead of stdout"
    )
    audit = sub.add_parser("audit", help="what the bot recorded: answered pastes, probe runs, feedback")
    audit.add_argument("--since", metavar="DURATION", type=_duration, help="only the last 30m, 12h, 7d, ...")
    audit_format = audit.add_mutually_exclusive_group()
    audit_format.add_argument("--json", action="store_true", help="one JSON object per line")
    audit_format.add_argument("--csv", action="store_true", help="comma-separated (default: tab-separated)")
    console = sub.add_parser("console", help="a local chat loop: paste an error, get a runbook")
    _cluster_options(console)

    runbook = sub.add_parser("runbook", help="list, show and check the runbooks")
    rb_sub = runbook.add_subparsers(dest="runbook_command", metavar="ACTION", parser_class=_Parser)
    rb_list = rb_sub.add_parser("list", help="one line per runbook")
    _output_option(rb_list)
    show = rb_sub.add_parser("show", help="a runbook in a screenful (--full: every section)")
    show.add_argument("id", help="runbook id, e.g. ipam-exhausted")
    show.add_argument("--full", action="store_true", help="every section: signatures, risks, safety, body")
    rb_sub.add_parser("check", help="validate every runbook file")

    match = sub.add_parser("match", help="match a pasted error to a runbook")
    match.add_argument("text", nargs="?", help="the error text, or - (the default) to read stdin")
    match.add_argument("--json", action="store_true", help="print one JSON object")
    match.add_argument(
        "--batch",
        metavar="FILE",
        type=_non_empty("file name"),
        help='JSON Lines with a "text" key per line (- for stdin); one JSON row per input line, with its "line"',
    )

    index = sub.add_parser("index", help="build the search index")
    index_sub = index.add_subparsers(dest="index_command", metavar="ACTION", parser_class=_Parser)
    build = index_sub.add_parser("build", help="embed the runbooks and write the index (rebuilds always)")
    build.add_argument("--quiet", action="store_true", help="no progress output")
    index_sub.add_parser("status", help="is the index current?")

    evaluate = sub.add_parser("eval", help="top-1, top-3 and abstention accuracy on a labelled JSONL set")
    evaluate.add_argument("file", help='JSON Lines: {"text", "expect": runbook id or "none", "also": [...]}')
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument(
        "--signals", action="store_true", help="also score each signal alone and a plain BM25 baseline"
    )
    evaluate.add_argument(
        "--cv",
        # one fold is no cross-validation; past 50 folds hold a thread or two each and only cost time
        type=_int_in(2, 50, "a number of folds"),
        metavar="K",
        help="K-fold cross-validation (2 to 50) on runbooks/reports.jsonl (the set the calibration is fitted on)",
    )
    evaluate.add_argument(
        "--train-fraction",
        type=float,
        default=1.0,
        metavar="F",
        help="with --cv: learn from only this fraction of the other folds' threads (a learning curve)",
    )
    evaluate.add_argument(
        "--curve", action="store_true", help="also print top-1, precision and abstention per confidence threshold"
    )
    probe = sub.add_parser("probe", help="read-only cluster probes: list, ID, all, or for RUNBOOK_ID")
    probe.add_argument("target", help="list | all | a probe id (e.g. ipam.usage, or ipam) | for")
    probe.add_argument("runbook", nargs="?", help="with `for`: the runbook whose probes to run")
    probe_format = probe.add_mutually_exclusive_group()
    probe_format.add_argument("--json", action="store_true", help="print one JSON document (the same as -o json)")
    probe_format.add_argument(
        "-o",
        "--output",
        choices=("table", "wide", "json"),
        help="`probe list`: table at a terminal, tab-separated (wide) when piped, or json; a probe run: json only",
    )
    _cluster_options(probe)

    sim = sub.add_parser("sim", help="the simulated cluster (a Kubernetes API subset on loopback)")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="ACTION", parser_class=_Parser)
    serve = sim_sub.add_parser("serve", help="serve a scenario on 127.0.0.1 and write a kubeconfig for it")
    serve.add_argument("--scenario", default="healthy", help="healthy, ipam-exhausted, mtu-mismatch, ...")
    serve.add_argument("--port", type=_port, default=0, help="port to listen on (default: any free port)")
    serve.add_argument(
        "--kubeconfig", default="sim-kubeconfig.yaml", help="where to write the kubeconfig (default: %(default)s)"
    )
    sim_sub.add_parser("list", help="the scenarios")
    return parser


def _output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=("table", "wide", "json"),
        help="table at a terminal, tab-separated (wide) when piped, or json",
    )


def _cluster_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument(
        "--sim",
        metavar="SCENARIO",
        type=_non_empty("scenario"),
        help="use the embedded simulated cluster with this scenario",
    )


# Argument types: argparse turns their ArgumentTypeError into one usage line and exit status 2. An empty
# value is refused because the commands read "" as "not given" and would silently do something else.
def _non_empty(what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"empty {what}")
        return value

    return check


def _int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    def check(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{value!r}: give {what} from {low} to {high}")
        return number

    return check


_port = _int_in(0, 65535, "a port")  # 0: any free port

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: str) -> float:
    """Seconds in 30m, 12h, 7d. [0-9], not str.isdigit(): that passes '²', which int() refuses."""
    found = re.fullmatch(r"([0-9]+)([smhd])", value)
    if found is None:
        raise argparse.ArgumentTypeError(f"{value!r}: give a duration like 30m, 12h or 7d")
    return float(int(found[1]) * _SECONDS[found[2]])


def _fail(message: str, status: int) -> int:
    print(f"cnibot: error: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except UsageError as exc:
        return _fail(str(exc), 2)
    except CnibotError as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `| head`); say nothing more
        sys.stderr.close()
        return 0
    except Exception as exc:  # the last line of defence: users never see a traceback
        if debug_enabled():
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc} (set CNIBOT_DEBUG=1 for details)", 1)


def _dispatch(args: argparse.Namespace) -> int:
    from bot import commands

    if args.command == "runbook":
        if args.runbook_command is None:
            raise UsageError("runbook needs an action: list, show ID or check")
        return commands.runbook(args)
    if args.command == "match":
        return commands.match(args)
    if args.command == "index":
        if args.index_command is None:
            raise UsageError("index needs an action: build or status")
        return commands.index(args)
    if args.command == "eval":
        return commands.evaluate(args)
    if args.command == "probe":
        return commands.probe(args)
    if args.command == "sim":
        if args.sim_command is None:
            raise UsageError("sim needs an action: serve or list")
        return commands.sim(args)
    if args.command == "console":
        return commands.console(args)
    if args.command == "run":
        return commands.run(args)
    if args.command == "serve":
        return commands.serve(args)
    if args.command == "audit":
        return commands.audit(args)
    if args.command == "remediation":
        if args.remediation_command is None:
            raise UsageError("remediation needs an action: list")
        return commands.remediation(args)
    if args.command == "plan":
        return commands.plan(args)
    if args.command == "report":
        if args.report_command is None:
            raise UsageError("report needs an action: ipam or schedule")
        return commands.report(args)
    if args.command == "feedback":
        if args.feedback_command is None:
            raise UsageError("feedback needs an action: export")
        return commands.feedback(args)
    raise UsageError(f"unknown command {args.command!r}")  # pragma: no cover - argparse rejects it first
