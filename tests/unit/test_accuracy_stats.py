"""Face-match statistics by sorting, checked against the definitions computed the slow way."""

import pickle

import numpy as np

from biometrics.accuracy import AccuracyReport
from biometrics.errors import InputRejected


def _slow_eer(genuine, impostor):
    candidates = np.unique(np.concatenate([genuine, impostor]))
    return min(max((impostor >= t).mean(), (genuine < t).mean()) for t in candidates)


def test_rates_and_eer_match_the_definitions():
    rng = np.random.default_rng(7)
    for _ in range(20):
        genuine = rng.normal(0.6, 0.15, rng.integers(5, 200))
        impostor = rng.normal(0.1, 0.12, rng.integers(5, 400))
        report = AccuracyReport(2, 10, 0, genuine, impostor)
        assert report.eer() == _slow_eer(genuine, impostor)
        for t in (-0.2, 0.0, 0.25, 0.33, float(genuine[0]), float(impostor[0]), 1.2):
            assert report.far_frr(t) == ((impostor >= t).mean(), (genuine < t).mean())
        threshold = report.threshold_at_far(1e-2)
        assert (impostor >= threshold).mean() <= 1e-2
        assert report.tar_at_far(1e-2) == 1 - (genuine < threshold).mean()


def test_ties_at_the_threshold_count_as_accepted():
    report = AccuracyReport(1, 1, 0, np.array([0.5, 0.5]), np.array([0.5, 0.1]))
    assert report.far_frr(0.5) == (0.5, 0.0)


def test_empty_sets_do_not_divide_by_zero():
    report = AccuracyReport(0, 0, 0, np.zeros(0), np.zeros(0))
    assert report.far_frr(0.3) == (0.0, 0.0)
    assert report.eer() == 0.0


def test_an_input_rejection_survives_pickling_with_its_reason():
    err = pickle.loads(pickle.dumps(InputRejected("video_too_long", "over 45 s")))
    assert (err.reason.code, err.detail) == ("video_too_long", "over 45 s")
