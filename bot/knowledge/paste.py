"""Validation of pasted input at the edge: empty, huge and binary input get one clear sentence."""

from __future__ import annotations

import re

from bot.domain.errors import UsageError

MAX_PASTE_BYTES = 8 * 1024 * 1024
MAX_UNDECODABLE_SHARE = 0.05
# A lone surrogate (an undecodable argv or console byte under surrogateescape, or a JSON "\ud800") is no
# character: the tokenizer and any UTF-8 output refuse it. It becomes U+FFFD, as undecodable stdin bytes do.
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_paste(data: bytes, *, what: str = "input") -> str:
    """Bytes as text, or UsageError naming what is wrong with them."""
    if len(data) > MAX_PASTE_BYTES:
        raise UsageError(
            f"{what} is {len(data) / 1048576:.1f} MB; cnibot reads at most {MAX_PASTE_BYTES // 1048576} MB "
            "(paste the error lines, or the last part of the log)"
        )
    text = data.decode("utf-8", errors="replace")
    return check_text(text, what=what)


def clean_text(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def check_text(text: str, *, what: str = "input") -> str:
    """`text` cleaned (see `clean_text`), or UsageError when it is empty or binary. Use the text it
    returns: only that one is safe to search and print."""
    text = clean_text(text)
    if not text.strip():
        raise UsageError(f"{what} is empty; paste an error message or describe the symptom")
    bad = text.count("\ufffd") + sum(1 for ch in text if ch < " " and ch not in "\n\r\t\x1b")
    share = bad / max(len(text), 1)
    # a few stray bytes in a pasted line are noise to skip; a large share means the input is not text
    if share > 0.3 or (bad > 16 and share > MAX_UNDECODABLE_SHARE):
        raise UsageError(f"{what} looks binary ({bad} of {len(text)} characters are not text); paste the error as text")
    return text
