"""The body of each CLI command: get the App from the composition root, call a service, render."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain.errors import UsageError
from bot.wiring import App, ClusterChoice

BATCH_CHUNK = 64  # `match --batch` rows answered (one embedding call) and printed at a time

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


def _console_out() -> Console:
    from rich.console import Console

    # piped or redirected: never wrap lines (a `grep` must see each line whole), as kubectl does
    return Console(highlight=False, soft_wrap=not sys.stdout.isatty())


def _choice(args: argparse.Namespace) -> ClusterChoice:
    return ClusterChoice(
        kubeconfig=getattr(args, "kubeconfig", None) or "",
        context=getattr(args, "context", None) or "",
        sim=getattr(args, "sim", None) or "",
    )


def runbook(args: argparse.Namespace) -> int:
    app = App.from_environment()
    if args.runbook_command == "check":
        from bot.knowledge.checks import check_directory
        from bot.knowledge.loader import runbook_files
        from bot.probes.descriptions import PROBE_DESCRIPTIONS
        from bot.remediation.catalog import ACTIONS

        runbooks_dir = app.settings.knowledge.runbooks_dir
        problems = check_directory(runbooks_dir, probe_ids=PROBE_DESCRIPTIONS, action_ids=ACTIONS)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"{len(problems)} problem(s) found", file=sys.stderr)
            return 1
        print(f"ok: {len(runbook_files(runbooks_dir))} runbooks checked")
        return 0

    from bot import terminal

    out = _console_out()
    if args.runbook_command == "list":
        runbooks = app.answering.runbooks()
        rows = terminal.runbook_rows(runbooks)
        _print_listing(out, terminal.RUNBOOK_COLUMNS, rows, args.output, lambda: terminal.runbook_table(runbooks))
        return 0
    runbook = app.answering.runbook(args.id)
    out.print(terminal.render_runbook(runbook) if args.full else terminal.render_runbook_brief(runbook))
    return 0


def _print_listing(
    out: Console,
    header: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    output: str | None,
    table: Callable[[], RenderableType],
) -> None:
    """Like kubectl: a table at a terminal, tab-separated columns when piped, JSON on request."""
    if output == "json":
        print(json.dumps([dict(zip([h.lower().replace(" ", "_") for h in header], row, strict=True)) for row in rows]))
    elif output == "wide" or not sys.stdout.isatty():
        from bot.terminal import plain_rows

        print(plain_rows(header, rows))
    else:
        out.print(table())


def console(args: argparse.Namespace, *, sim_if_no_kubeconfig: bool = False) -> int:
    from bot.console import run_console

    choice = _choice(args)
    if sim_if_no_kubeconfig:
        choice = ClusterChoice(sim_if_no_kubeconfig=True)
    app = App.from_environment(choice)
    try:
        return run_console(app, sys.stdin, _console_out())
    finally:
        app.close()


def run(args: argparse.Namespace) -> int:
    """`make run`: the Slack bot when its tokens are set, else the local console."""
    app = App.from_environment()
    if app.settings.slack.configured:
        return serve(argparse.Namespace(port=3000, kubeconfig=None, context=None, sim=None, config=None))
    return console(args, sim_if_no_kubeconfig=True)


def serve(args: argparse.Namespace) -> int:
    choice = _choice(args)
    if not (choice.sim or choice.kubeconfig or choice.context):
        choice = ClusterChoice(sim_if_no_kubeconfig=True)
    config = Path(args.config) if getattr(args, "config", None) else None
    app = App.from_environment(choice, interactive=False, config=config)
    import signal
    import threading

    # Kubernetes stops a pod with SIGTERM: stop cleanly (finish a running report, give the Lease up)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        return app.serve(port=args.port, stop=stop)
    finally:
        app.close()


def audit(args: argparse.Namespace) -> int:
    import csv
    import time

    app = App.from_environment()
    since = 0.0 if args.since is None else time.time() - args.since  # --since: seconds (cli._duration)
    rows = [r.to_json() for r in app.store.audit(since=since)]
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    else:
        writer = csv.writer(sys.stdout, delimiter="," if args.csv else "\t")
        writer.writerow(["at", "kind", "channel", "user", "summary"])
        for row in rows:
            writer.writerow([row["at"], row["kind"], row["channel"], row["user"], row["summary"]])
    return 0


def _read_match_input(text: str | None) -> str:
    from bot.knowledge.paste import check_text, decode_paste

    if text is not None and text != "-":
        return check_text(text, what="the text")
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("no text given; pass it as an argument or pipe it on stdin (`cnibot match -`)")
    return decode_paste(sys.stdin.buffer.read(), what="stdin")


def match(args: argparse.Namespace) -> int:
    app = App.from_environment()
    if args.batch:
        if args.text is not None:
            raise UsageError("give either TEXT or --batch FILE, not both")
        from bot.knowledge.batch import read_batch

        if args.batch == "-":
            if sys.stdin is None or sys.stdin.isatty():
                raise UsageError("--batch - reads JSON Lines from stdin; pipe a file in")
            cases = read_batch("stdin", stream=sys.stdin.buffer)
        else:
            cases = read_batch(args.batch)
        # rows go out a chunk at a time: a reader piping into `head` or a pipeline sees the first rows in
        # well under a second instead of after the whole file (54 s for 3,000 real reports), while each
        # chunk still shares one embedding call
        for start in range(0, len(cases), BATCH_CHUNK):
            chunk = cases[start : start + BATCH_CHUNK]
            answers = iter(app.answering.answer_many([c.text for c in chunk if c.error is None]))
            for case in chunk:
                if case.error is not None:
                    row: dict[str, object] = {"line": case.line, "query": case.text, "confident": False}
                    row |= {"matches": [], "error": case.error}
                else:
                    row = {"line": case.line, **next(answers).to_json()}
                print(json.dumps(row, ensure_ascii=False))
            sys.stdout.flush()
        return 0
    answer = app.answering.answer(_read_match_input(args.text))
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        from bot import terminal

        _console_out().print(terminal.render_answer(answer))
    return 0


def index(args: argparse.Namespace) -> int:
    settings = App.from_environment().settings.knowledge
    from bot.index.files import IndexPaths, staleness

    if args.index_command == "status":
        reason = staleness(IndexPaths(settings.index_dir), settings.runbooks_dir, settings.model)
        print(f"stale: {reason}" if reason else f"current: {settings.index_dir}")
        return 1 if reason else 0
    from bot.index.build import build_index

    report = build_index(settings.runbooks_dir, settings.index_dir, settings.model, progress=not args.quiet)
    if args.quiet:
        print(f"index built: {report.passages} passages in {report.seconds:.1f} s")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from bot.services.evaluation import cross_validate, evaluate_file, render_report

    if args.train_fraction != 1.0 and not args.cv:
        raise UsageError("--train-fraction needs --cv K: it leaves reports out of the folds' training")
    app = App.from_environment()
    if args.cv:
        training, report_rows, classifier_data, word_data = app.training()
        cv = cross_validate(
            app.matcher,
            args.file,
            training=training,
            report_rows=report_rows,
            classifier_data=classifier_data,
            word_data=word_data,
            folds=args.cv,
            train_fraction=args.train_fraction,
        )
        reports = [cv]
    else:
        reports = evaluate_file(
            app.matcher,
            args.file,
            signal_calibrations=app.signal_calibrations() if args.signals else None,
            baseline_files=app.runbook_files() if args.signals else (),
        )
    if args.json:
        print(json.dumps([r.to_json() for r in reports], indent=1, ensure_ascii=False))
    else:
        print(render_report(reports, curve=args.curve))
    return 0


def probe(args: argparse.Namespace) -> int:
    from bot import terminal

    output = "json" if args.json else args.output  # --json is -o json (argparse keeps them apart)
    if args.target == "list":
        from bot.probes.descriptions import PROBE_DESCRIPTIONS

        if args.runbook is not None:
            raise UsageError(f"unexpected argument {args.runbook!r} after 'list'")
        rows = list(PROBE_DESCRIPTIONS.items())
        _print_listing(
            _console_out(),
            terminal.PROBE_COLUMNS,
            rows,
            output,
            lambda: terminal.render_probe_list(PROBE_DESCRIPTIONS),
        )
        return 0
    if output in ("table", "wide"):
        # a probe report is not a listing: it has no columns to lay out, only text or JSON
        raise UsageError(f"-o {output} is for `probe list`; a probe run prints text, or JSON with -o json")
    app = App.from_environment(_choice(args))
    try:
        ids = app.probing.ids_for(args.target, args.runbook)
        report = app.probing.run(ids)
    finally:
        app.close()
    if output == "json":
        print(json.dumps(report.to_json(), ensure_ascii=False, default=str))
    else:
        _console_out().print(terminal.render_probe_report(report))
    # exit 1 when nothing useful came back; the reason is already in the output (text or JSON)
    return 1 if report.failed else 0


def sim(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.wiring import scenario_names, serve_simulated

    if args.sim_command == "list":
        for name in scenario_names():
            print(name)
        return 0
    return serve_simulated(args.scenario, args.port, Path(args.kubeconfig))


def feedback(args: argparse.Namespace) -> int:
    """`cnibot feedback export`: the pastes users labelled with [Not this one], as eval-set JSON Lines."""
    app = App.from_environment()
    rows = list(app.store.labelled_pastes())
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if args.output is None:
        sys.stdout.write(lines)
        return 0
    _write_file("--output", args.output, lines.encode())
    print(f"{len(rows)} labelled paste(s) written to {args.output}", file=sys.stderr)
    return 0


def _write_file(option: str, path: str, data: bytes) -> None:
    """A file the user named: a missing folder or a directory is their input to fix (exit 2), not a crash."""
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write it ({exc.strerror or exc})") from None


def remediation(args: argparse.Namespace) -> int:
    """`cnibot remediation list`: the catalogue of approval-gated actions."""
    from bot import terminal
    from bot.remediation.catalog import ACTIONS

    header = ("ACTION", "RISK", "APPROVERS", "PARAMETERS", "RUNBOOKS", "WHAT IT DOES")
    rows = [
        (a.id, a.risk, str(a.approvals), a.parameters or "-", ",".join(a.runbooks), a.summary) for a in ACTIONS.values()
    ]
    _print_listing(_console_out(), header, rows, args.output, lambda: terminal.listing_table(header, rows))
    return 0


def plan(args: argparse.Namespace) -> int:
    """`cnibot plan ACTION [key=value ...]`: what a remediation would send, dry-run by the apiserver."""
    from bot.services.plans import parse_parameters
    from bot.services.remediation_text import plan_text

    params = parse_parameters(list(args.parameters))
    app = App.from_environment(_choice(args))
    try:
        view = app.remediation.plan(args.action, params)
    finally:
        app.close()
    if args.json:
        print(json.dumps(view.to_json(), ensure_ascii=False, default=str))
    else:
        print(plan_text(view, requests=len(view.steps) if not sys.stdout.isatty() else 8))
    return 0 if view.dry_run_ok else 1


def report(args: argparse.Namespace) -> int:
    """`cnibot report ipam`: the IPAM usage report once; `cnibot report schedule`: the next fire times."""
    if args.report_command == "schedule":
        return _report_schedule(args)
    from bot.reporting.text import report_text
    from bot.store.db import StoreError

    app = App.from_environment(_choice(args))
    settings = app.settings.reports
    if args.post and not settings.channel:
        raise UsageError("--post needs CNIBOT_REPORT_CHANNEL (the channel id reports go to)")
    poster = app.report_poster() if args.post else None
    store_failures: dict[str, list[str]] = {}  # the store's error -> what it stopped: one line for both

    def store_failed(what: str, exc: StoreError) -> None:
        store_failures.setdefault(str(exc), []).append(what)

    try:
        reports = app.reports()
        target = reports.target(args.cluster or "")
        view = reports.take(target, record=not args.no_record, on_store_error=store_failed)
        chart = reports.chart(view) if (args.png or poster is not None) else None
    finally:
        app.close()
    if args.png:
        if chart is None:
            raise UsageError(f"--png {args.png}: the chart could not be drawn (the log says why)")
        _write_file("--png", args.png, chart)
    if poster is not None:
        poster.post_report(settings.channel, view, chart)  # a refused post: PostError, one line
    if args.json:
        print(json.dumps(view.to_json(), ensure_ascii=False))
    else:
        print(report_text(view, timezone=settings.timezone))
        if args.png:
            print(f"chart written to {args.png}", file=sys.stderr)
        if poster is not None:
            print(f"posted to {settings.channel}", file=sys.stderr)
    if store_failures:
        # The report was made and is worth having, so it is printed (and posted); but its history or its
        # snapshot failed, so the run did not do all it was asked: one warning line, exit status 1.
        why = "; ".join(f"{' and '.join(whats)}: {cause}" for cause, whats in store_failures.items())
        print(f"cnibot: warning: IPAM {why}", file=sys.stderr)
        return 1
    return 0


def _report_schedule(args: argparse.Namespace) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.config import Settings, environment
    from bot.scheduler.cron import cron_trigger, next_fire_times

    settings = Settings.from_env(environment()).reports
    if not 1 <= args.count <= 100:
        raise UsageError(f"--count {args.count}: give 1 to 100")
    trigger = cron_trigger(settings.schedule, settings.timezone)
    now = datetime.now(ZoneInfo(settings.timezone))
    print(f"# CNIBOT_REPORT_SCHEDULE={settings.schedule!r} in {settings.timezone}", file=sys.stderr)
    for fire in next_fire_times(trigger, now, args.count):
        print(fire.isoformat())
    return 0
