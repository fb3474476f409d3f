"""The body of each CLI command: read settings, call a service, print the result."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.domain.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console


def _console_out() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def runbook(args: argparse.Namespace) -> int:
    from bot.knowledge.loader import load_runbooks

    settings = Settings.from_env()
    if args.runbook_command == "check":
        from bot.knowledge.checks import check_directory
        from bot.probes.catalog import PROBES

        problems = check_directory(settings.knowledge.runbooks_dir, probe_ids=PROBES)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"{len(problems)} problem(s) found", file=sys.stderr)
            return 1
        from bot.knowledge.loader import runbook_files

        print(f"ok: {len(runbook_files(settings.knowledge.runbooks_dir))} runbooks checked")
        return 0

    from bot import terminal

    runbooks = load_runbooks(settings.knowledge.runbooks_dir)
    out = _console_out()
    if args.runbook_command == "list":
        out.print(terminal.runbook_table(runbooks))
        return 0
    by_id = {rb.id: rb for rb in runbooks}
    if args.id not in by_id:
        raise UsageError(f"no runbook {args.id!r}; `cnibot runbook list` shows the ids")
    out.print(terminal.render_runbook(by_id[args.id]))
    return 0


def console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    return run_console(Settings.from_env(), sys.stdin, _console_out())


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    out = _console_out()
    if settings.slack.configured:
        out.print(
            "Slack tokens are set, but the Slack adapter is not part of this build yet; "
            "starting the local console instead.",
            style="yellow",
        )
    return console(args)


def _read_match_input(text: str | None) -> str:
    from bot.knowledge.paste import check_text, decode_paste

    if text is not None and text != "-":
        return check_text(text, what="the text")
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("no text given; pass it as an argument or pipe it on stdin (`cnibot match -`)")
    return decode_paste(sys.stdin.buffer.read(), what="stdin")


def match(args: argparse.Namespace) -> int:
    import json

    from bot.knowledge.index_load import open_matcher

    settings = Settings.from_env()
    if args.batch:
        if args.text is not None:
            raise UsageError("give either TEXT or --batch FILE, not both")
        from bot.knowledge.batch import read_batch

        cases = read_batch(args.batch)
        matcher = open_matcher(settings.knowledge)
        valid = [c for c in cases if c.error is None]
        results = iter(matcher.match_many([c.text for c in valid]))
        for case in cases:
            if case.error is not None:
                print(json.dumps({"query": case.text, "confident": False, "matches": [], "error": case.error}))
            else:
                print(json.dumps(next(results).to_json(), ensure_ascii=False))
        return 0
    text = _read_match_input(args.text)
    matcher = open_matcher(settings.knowledge)
    result = matcher.match(text)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        from bot import terminal

        _console_out().print(terminal.render_match(result))
    return 0


def index(args: argparse.Namespace) -> int:
    settings = Settings.from_env().knowledge
    from bot.knowledge.index_files import IndexPaths, staleness

    if args.index_command == "status":
        reason = staleness(IndexPaths(settings.index_dir), settings.runbooks_dir, settings.model)
        print(f"stale: {reason}" if reason else f"current: {settings.index_dir}")
        return 1 if reason else 0
    from bot.knowledge.index_build import build_index

    report = build_index(settings.runbooks_dir, settings.index_dir, settings.model, progress=not args.quiet)
    if args.quiet:
        print(f"index built: {report.passages} passages in {report.seconds:.1f} s")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    import json

    from bot.knowledge.evaluate import evaluate_file, render_report

    settings = Settings.from_env().knowledge
    reports = evaluate_file(settings, args.file, signals=args.signals)
    if args.json:
        print(json.dumps([r.to_json() for r in reports], indent=1, ensure_ascii=False))
    else:
        print(render_report(reports))
    return 0


def _cluster_settings(args: argparse.Namespace, settings: Settings) -> Any:
    from dataclasses import replace

    cluster = settings.cluster
    if getattr(args, "kubeconfig", None):
        cluster = replace(cluster, kubeconfig=args.kubeconfig)
    if getattr(args, "context", None):
        cluster = replace(cluster, context=args.context)
    return cluster


def probe(args: argparse.Namespace) -> int:
    import json

    from bot import terminal
    from bot.probes.catalog import PROBES

    settings = Settings.from_env()
    if args.target == "list":
        _console_out().print(terminal.render_probe_list(PROBES))
        return 0
    from bot.cluster.session import open_cluster
    from bot.knowledge.index_load import open_matcher, open_signatures
    from bot.knowledge.loader import load_runbooks
    from bot.probes import service

    if args.target == "for":
        if not args.runbook:
            raise UsageError("`probe for` needs a runbook id, e.g. `cnibot probe for ipam-exhausted`")
        ids = service.probes_of_runbook(args.runbook, load_runbooks(settings.knowledge.runbooks_dir))
    else:
        if args.runbook:
            raise UsageError(f"unexpected argument {args.runbook!r} after {args.target!r}")
        ids = service.probe_ids_for(args.target)
    session = open_cluster(_cluster_settings(args, settings), sim_scenario=args.sim or "")
    try:
        signatures, runbook_ids = open_signatures(settings.knowledge)
        fallback = service.lazy_namer(lambda: open_matcher(settings.knowledge, rebuild=False).match_many)
        namer = service.signature_first_namer(signatures, runbook_ids, fallback)
        results = service.run(ids, session.reader, runbook_for=namer)
    finally:
        session.close()
    if args.json:
        if len(results) == 1 and args.target not in ("all", "for"):
            document = {**results[0].data, **{k: v for k, v in results[0].to_json().items() if k != "data"}}
            document["data"] = results[0].data
        else:
            document = {"cluster": session.to_json(), "results": [r.to_json() for r in results]}
        print(json.dumps(document, ensure_ascii=False, default=str))
        return 0
    out = _console_out()
    out.print(f"cluster: {session.description}", style="bold yellow" if session.simulated else "dim")
    for result in results:
        out.print(terminal.render_probe(result))
    return 0


def sim(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.sim.scenarios import SCENARIOS

    if args.sim_command == "list":
        for name in SCENARIOS:
            print(name)
        return 0
    if args.scenario not in SCENARIOS:
        raise UsageError(f"no scenario {args.scenario!r}; choose one of {', '.join(SCENARIOS)}")
    from bot.sim.cli import serve

    return serve(args.scenario, args.port, Path(args.kubeconfig))
