"""Signatures: the word prefilter that skips most regexes must never change which signatures match."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.index.build import load_sources, signature_records
from bot.knowledge.batch import read_batch
from bot.knowledge.signatures import SignatureSet, flatten

ROOT = Path(__file__).resolve().parents[2]


RECORDS = signature_records(*load_sources(ROOT / "runbooks"))
SIGNATURES = SignatureSet.from_records(RECORDS)
COMPILED = [
    (str(r[0]), str(r[1]), re.compile(str(r[1]) if r[2] else re.escape(str(r[1])), re.IGNORECASE)) for r in RECORDS
]


def every_regex(text: str) -> list[tuple[str, str]]:
    """The reference: (owner, pattern) of each shipped signature whose regex, run with no prefilter on
    the flattened text, matches."""
    subject = flatten(text)
    return sorted((owner, pattern) for owner, pattern, rx in COMPILED if rx.search(subject))


def found(text: str) -> list[tuple[str, str]]:
    return sorted((h.runbook_id, h.signature.pattern) for h in SIGNATURES.hits(text))


def real_texts() -> list[str]:
    texts = [c.text for c in read_batch(str(ROOT / "runbooks" / "reports.jsonl"), labelled=True)]
    texts += [c.text for c in read_batch(str(ROOT / "tests" / "data" / "eval.jsonl"), labelled=True)]
    return texts


def test_the_prefilter_skips_no_signature_that_matches_a_real_text() -> None:
    texts = real_texts()
    lines = [line for text in texts for line in text.splitlines() if line.strip()]
    # the prefilter lower-cases where the regexes ignore case: upper-case and mixed case must agree too
    variants = [t.upper() for t in texts[::7]] + [t.swapcase() for t in texts[3::11]]
    checked = matched = 0
    for text in texts + lines + variants:
        expected = every_regex(text)
        assert found(text) == expected, text[:200]
        checked += 1
        matched += bool(expected)
    assert checked > 6_000 and matched > 1_000  # the comparison saw real matches, not only misses


@pytest.mark.parametrize(
    "text",
    ["hello", "Thanks!", "stale FDB entries on node2", "OLD VTEP MAC after the node was replaced"],
)
def test_signatures_with_no_word_to_look_for_are_still_tried(text: str) -> None:
    assert found(text) == every_regex(text)
    assert found(text), text


def test_fullwidth_and_wrapped_text_still_match() -> None:
    hits = SIGNATURES.best("ＮＯ ＩＰｓ available\n   in block")
    assert "ipam-exhausted" in hits
