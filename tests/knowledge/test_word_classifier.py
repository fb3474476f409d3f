"""The word classifier and the listwise fusion on small hand-checked data, and the ONNX session that
opens only for a paste that needs the embedding."""

from __future__ import annotations

import numpy as np
import pytest

from bot.knowledge.fusion import FEATURES, Calibration, ListwiseCalibration, features, fit_listwise
from bot.knowledge.word_classifier import Vocabulary, train_word_classifier


def test_the_vocabulary_keeps_terms_seen_twice_and_rows_have_unit_length() -> None:
    texts = ["ping works but curl hangs", "curl hangs on big uploads", "no route to host", "no route to host again"]
    vocabulary = Vocabulary.fit(texts)
    assert "curl" in vocabulary.terms and "curl hangs" in vocabulary.terms  # bigrams too
    assert "ping" not in vocabulary.terms  # one text only
    x = vocabulary.matrix([*texts, "nothing known here"]).toarray()
    assert np.allclose(np.linalg.norm(x[:4], axis=1), 1.0)
    assert not x[4].any()


def test_the_word_classifier_learns_which_words_belong_to_which_runbook() -> None:
    mtu = ["big uploads hang ping works", "tls handshake hangs big packets", "large packets dropped uploads hang"]
    ipam = ["no ips available in block", "ip pool exhausted no ips", "failed to allocate ip pool exhausted"]
    texts = mtu + ipam
    vocabulary = Vocabulary.fit(texts)
    model = train_word_classifier(vocabulary.matrix(texts), np.array([0, 0, 0, 1, 1, 1]), 2, vocabulary)
    p = model.proba(["uploads hang but ping works", "the pool is exhausted: no ips"])
    assert np.allclose(p.sum(axis=1), 1.0)
    assert p[0, 0] > 0.8 and p[1, 1] > 0.8


def test_the_listwise_fusion_learns_to_rank_and_scores_sum_to_one() -> None:
    rng = np.random.default_rng(7)
    queries, candidates = 200, 5
    x = rng.normal(size=(queries * candidates, len(FEATURES)))
    right = rng.integers(0, candidates, size=queries)
    y = np.zeros(queries * candidates)
    y[np.arange(queries) * candidates + right] = 1.0
    x[y == 1, FEATURES.index("dense")] += 2.0  # the right candidate is closer in embedding space
    query = np.repeat(np.arange(queries), candidates)
    model = fit_listwise(x, y, query, FEATURES)
    assert model.weights[FEATURES.index("dense")] > 1.0
    ranked_first = [int(np.argmax(model.score(x[query == q]))) == right[q] for q in range(queries)]
    by_dense = [int(np.argmax(x[query == q, FEATURES.index("dense")])) == right[q] for q in range(queries)]
    # as good as ranking by the one informative feature (the best any model can do here), and far above
    # the 0.2 of chance
    assert np.mean(ranked_first) >= np.mean(by_dense) - 0.02 and np.mean(ranked_first) > 0.6
    scores = model.score(x[query == 0])
    assert scores.sum() == pytest.approx(1.0)
    again = Calibration.from_json(model.to_json())
    assert isinstance(again, ListwiseCalibration) and np.allclose(again.score(x[:5]), model.score(x[:5]))


def test_the_fusion_reads_the_classifiers_on_the_log_scale_too() -> None:
    """Two runbooks a classifier gives 1% and 0.1% differ by 0.009 as probabilities, a tenfold as
    evidence: the log columns keep that apart; a classifier that did not run adds nothing."""
    zero = np.zeros(3)
    clf, wclf = np.array([0.989, 0.01, 0.001]), np.array([0.5, 0.25, 0.25])
    x = features(zero, zero, zero, clf, wclf)
    logs = x[:, FEATURES.index("clf_log")]
    assert logs[1] - logs[2] == pytest.approx(np.log(0.0101 / 0.0011), rel=1e-6)
    assert x[1, FEATURES.index("wclf_log")] == x[2, FEATURES.index("wclf_log")]
    absent = features(zero, zero, zero)
    assert np.ptp(absent[:, FEATURES.index("clf_log")]) == 0.0  # a constant: cancels in the softmax


def test_a_paste_that_signatures_settle_never_opens_the_onnx_session(knowledge_settings) -> None:
    from bot.index.load import open_matcher

    matcher = open_matcher(knowledge_settings, rebuild=False)
    settled = matcher.match('plugin type="calico" failed (add): no IPs available in block')
    assert settled.confident and settled.best.runbook == "ipam-exhausted"
    assert matcher.embedder._session is None
    prose = matcher.match("pods on node2 can ping but big uploads hang")
    assert prose.matches and matcher.embedder._session is not None
