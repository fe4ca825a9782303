"""The corrected resampled t-test of the studies' verdicts (Nadeau & Bengio)."""

import math

import numpy as np
import pytest

from sktransfer.model_selection import corrected_ttest, paired_comparison
from sktransfer.model_selection._verdict import study_comparisons, verdict_sentence


def test_the_statistic_matches_a_hand_computation():
    # Three splits of 70/30: 2, 3 and 1 more right answers out of 30, so
    # d = (2, 3, 1) / 30, mean 2/30, s = 1/30 (above the floor, 1/30/sqrt(3)).
    result = corrected_ttest([2 / 30, 3 / 30, 1 / 30], n_train=70, n_test=30)
    se = math.sqrt(1 / 3 + 30 / 70) / 30
    t = (2 / 30) / se
    # Student's t with 2 degrees of freedom has a closed form.
    assert result["p_value"] == pytest.approx(1 - t / math.sqrt(t * t + 2))
    assert result["p_value"] == pytest.approx(0.1490, abs=1e-4)
    quantile = 4.302652729911275  # t_{0.975, 2}
    assert result["low"] == pytest.approx(2 / 30 - quantile * se)
    assert result["high"] == pytest.approx(2 / 30 + quantile * se)
    assert result["mean"] == pytest.approx(2 / 30)
    assert result["n_runs"] == 3 and not result["significant"]
    # The same gap and spread separate at 6 repeats (half-width < 2/30).
    assert result["repeats_needed"] == 6


def test_the_correction_widens_the_naive_interval():
    d = [0.05, 0.02, 0.04, 0.01, 0.03]
    corrected = corrected_ttest(d, n_train=70, n_test=30)
    # ratio ~ 0 and no floor: the plain t-test.
    naive = corrected_ttest(d, n_train=10**9, n_test=1, resolution=0)
    assert corrected["p_value"] > naive["p_value"]
    assert corrected["high"] - corrected["low"] > naive["high"] - naive["low"]


def test_identical_methods_are_never_called_significant():
    result = corrected_ttest([0.0, 0.0, 0.0], n_train=70, n_test=30)
    assert result["p_value"] == 1.0 and not result["significant"]
    # The interval is as wide as one split one image apart would make it.
    assert result["low"] == -result["high"] and 0.0 < result["high"] < 0.2
    assert result["repeats_needed"] is None
    assert "scored the same on every split" in verdict_sentence(
        {"method": "a", "other": "b", **result}
    )


def test_the_rejection_rate_of_no_difference_stays_under_the_level():
    # Differences with mean zero: the test rejects at most about 5% of the time.
    rng = np.random.default_rng(0)
    rejected = [
        corrected_ttest(rng.normal(0, 0.02, 5), n_train=70, n_test=30)["significant"]
        for _ in range(2000)
    ]
    assert np.mean(rejected) <= 0.05


def test_a_large_real_gap_is_significant():
    result = corrected_ttest([0.21, 0.19, 0.20, 0.22, 0.18], n_train=70, n_test=30)
    assert result["significant"] and result["p_value"] < 1e-3
    assert result["low"] > 0 and result["repeats_needed"] == 0
    assert "a real difference" in verdict_sentence(
        {"method": "a", "other": "b", **result}
    )


def test_a_constant_gap_over_two_splits_is_not_yet_evidence():
    # 5 more right answers out of 45 on both splits: with the accuracy's step
    # (1/45) as the least spread, two splits cannot call it real.
    result = corrected_ttest([5 / 45, 5 / 45], n_train=105, n_test=45)
    sd = (1 / 45) / math.sqrt(2)
    t = (5 / 45) / (math.sqrt(1 / 2 + 45 / 105) * sd)
    # Student's t with 1 degree of freedom: p = 1 - 2 atan(t) / pi.
    assert result["p_value"] == pytest.approx(1 - 2 * math.atan(t) / math.pi)
    assert 0.05 < result["p_value"] < 0.1 and not result["significant"]
    assert result["low"] < 0 < result["high"]
    # The same steady gap over five splits is.
    assert corrected_ttest([5 / 45] * 5, n_train=105, n_test=45)["significant"]
    # resolution=0: no floor, and a constant gap is all the evidence there is.
    no_floor = corrected_ttest([0.1, 0.1], n_train=70, n_test=30, resolution=0)
    assert no_floor["p_value"] == 0.0 and no_floor["significant"]
    # A finer resolution narrows the interval.
    fine = corrected_ttest([5 / 45] * 2, n_train=105, n_test=45, resolution=1e-3)
    assert fine["high"] - fine["low"] < result["high"] - result["low"]


def test_a_gap_too_small_for_any_repeats_asks_for_images():
    result = corrected_ttest([0.001, -0.03, 0.035], n_train=70, n_test=30)
    assert result["repeats_needed"] is None and not result["significant"]
    sentence = verdict_sentence({"method": "a", "other": "b", **result})
    assert "no number of repeats" in sentence and "more images" in sentence
    assert sentence.count("at this size") == 1


def _runs(table):
    return [
        {"method": m, "seed": s, "accuracy": a}
        for m, scores in table.items()
        for s, a in scores.items()
    ]


def test_paired_comparison_pairs_the_splits_by_seed():
    runs = _runs(
        {"cnn": {2: 0.91, 0: 0.90, 1: 0.92}, "svm": {0: 0.80, 1: 0.83, 2: 0.80}}
    )
    result = paired_comparison(runs, "cnn", "svm", n_train=70, n_test=30)
    expected = corrected_ttest([0.10, 0.09, 0.11], n_train=70, n_test=30)
    assert result["p_value"] == pytest.approx(expected["p_value"])
    # The resolution is passed on.
    finer = paired_comparison(
        runs, "cnn", "svm", n_train=70, n_test=30, resolution=0.001
    )
    assert finer["p_value"] < result["p_value"]
    assert (result["method"], result["other"]) == ("cnn", "svm")
    with pytest.raises(ValueError, match="No runs of method 'knn'.*'cnn', 'svm'"):
        paired_comparison(runs, "knn", "svm", n_train=70, n_test=30)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_train": 0}, "`n_train` must be a positive int"),
        ({"n_test": 2.5}, "`n_test` must be a positive int"),
        ({"confidence": 1.5}, "`confidence` must be a number in"),
        ({"resolution": -0.1}, "`resolution` must be None .* got -0.1"),
        ({"resolution": "1/30"}, "`resolution` must be None .* got '1/30'"),
        ({"resolution": np.inf}, "`resolution` must be None .* got inf"),
        ({"differences": [0.1]}, "at least two finite"),
        ({"differences": [0.1, np.nan]}, "at least two finite"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    arguments = {"differences": [0.1, 0.2], "n_train": 70, "n_test": 30, **kwargs}
    with pytest.raises(ValueError, match=match):
        corrected_ttest(**arguments)


def test_study_comparisons_against_the_baseline_and_the_runner_up():
    runs = _runs(
        {
            "cnn": {0: 0.95, 1: 0.96, 2: 0.94},
            "features": {0: 0.93, 1: 0.95, 2: 0.94},
            "svm": {0: 0.80, 1: 0.82, 2: 0.81},
        }
    )
    summary = [{"method": m, "n_runs": 3} for m in ("cnn", "features", "svm")]
    result = study_comparisons(runs, summary, "svm", n_train=70, n_test=30)
    assert [c["method"] for c in result["against_baseline"]] == ["cnn", "features"]
    assert [(c["method"], c["other"]) for c in result["verdicts"]] == [
        ("cnn", "svm"),
        ("cnn", "features"),
    ]
    assert result["verdicts"][0]["significant"]
    assert not result["verdicts"][1]["significant"]
    # The baseline best: only the runner-up to compare with.
    summary = [{"method": m, "n_runs": 3} for m in ("svm", "cnn")]
    verdicts = study_comparisons(runs, summary, "svm", n_train=70, n_test=30)
    assert [(c["method"], c["other"]) for c in verdicts["verdicts"]] == [("svm", "cnn")]
    # One run each: nothing to test.
    one = [{"method": m, "n_runs": 1} for m in ("cnn", "svm")]
    assert study_comparisons(runs, one, "svm", n_train=70, n_test=30) == {
        "against_baseline": [],
        "verdicts": [],
    }
