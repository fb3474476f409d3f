from __future__ import annotations

from bot.domain.runbook import Signature
from bot.knowledge.signatures import SignatureSet
from bot.services.probing import signature_first_namer


def test_strong_unambiguous_signatures_decide_and_the_rest_go_to_the_matcher_once() -> None:
    signatures = SignatureSet(
        [
            ("ipam-exhausted", Signature("no IPs available in block", False, 1.0)),
            ("cni-daemonset-crashloop", Signature("CrashLoopBackOff", False, 0.4)),
            ("image-pull", Signature("ImagePullBackOff", False, 1.0)),
        ]
    )
    asked: list[list[str]] = []

    def fallback(texts: list[str]) -> list[str | None]:
        asked.append(texts)
        return ["mtu-mismatch" for _ in texts]

    namer = signature_first_namer(signatures, {"ipam-exhausted", "cni-daemonset-crashloop"}, fallback)
    answers = namer(
        ["x: no IPs available in block", "pod CrashLoopBackOff", "pod CrashLoopBackOff", "ImagePullBackOff"]
    )
    assert answers == ["ipam-exhausted", "mtu-mismatch", "mtu-mismatch", "mtu-mismatch"]
    # weak hits and look-alike hits are not decisive; duplicates are asked once
    assert asked == [["pod CrashLoopBackOff", "ImagePullBackOff"]]
