"""Logging, configured once by the composition root: plain lines for terminals, JSON lines for shippers."""

from __future__ import annotations

import json
import logging
import sys
import time

from bot.config import LogSettings

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TerminalLines(logging.Formatter):
    """What a person at a terminal wants: `cnibot: message` for info, the level for anything worse."""

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        return f"cnibot: {level}{record.getMessage()}"


def _ours_or_serious(record: logging.LogRecord) -> bool:
    """Libraries that set their own loggers to INFO (bm25s does) are heard only when they warn."""
    return record.name == "bot" or record.name.startswith("bot.") or record.levelno >= logging.WARNING


def configure_logging(settings: LogSettings, *, interactive: bool = True) -> None:
    """Log to stderr. A command-line run at INFO shows only cnibot's own progress lines (index build);
    a long-running service (`interactive=False`) gets timestamps and logger names."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.format == "json":
        handler.setFormatter(JsonLines())
    elif interactive:
        handler.setFormatter(TerminalLines())
    else:
        handler.setFormatter(logging.Formatter(PLAIN))
    handler.addFilter(_ours_or_serious)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    # our own loggers at the chosen level; libraries (urllib3, kubernetes) only when they warn
    logging.getLogger("bot").setLevel(settings.level)
