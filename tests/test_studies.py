"""Each study of sktransfer.model_selection on tiny data, and the advice."""

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier

from sktransfer import Advice, PretrainedCNNClassifier, suggest_strategy
from sktransfer.model_selection import (
    target_size_curve,
    transfer_study,
    transferability_curve,
    validation_schemes_study,
)

FAST = {"input_size": 16, "max_epochs": 2}


def test_validation_schemes_study(digits):
    X, y = digits
    binary = y < 2
    X, y = X[binary], y[binary]
    seen = []
    result = validation_schemes_study(
        X[:40], y[:40], X[40:], y[40:], n_runs=2, params=FAST, callback=seen.append
    )
    assert [row["scheme"] for row in result["summary"]] == [1, 2, 3, 4]
    assert all(
        row["n_runs"] == 2 and 0 <= row["mean"] <= 1 for row in result["summary"]
    )
    assert len(result["runs"]) == 8 == len(seen)
    # every scheme of a run meets the same test part: 30% of the target
    assert {row["seed"] for row in result["runs"]} == {0, 1}


def test_validation_schemes_study_checks_its_input(digits):
    X, y = digits
    with pytest.raises(ValueError, match="`y_target` labels must be among"):
        validation_schemes_study(X[y < 2], y[y < 2], X[y == 5], y[y == 5])
    with pytest.raises(ValueError, match="same shape"):
        validation_schemes_study(X[:20], y[:20], X[:20, :4], y[:20])
    with pytest.raises(ValueError, match="`n_trainable`"):
        validation_schemes_study(X, y, X, y, n_trainable=0)
    with pytest.raises(ValueError, match="`n_trainable`=9 exceeds"):
        validation_schemes_study(
            X[:60],
            y[:60],
            X[60:120],
            y[60:120],
            n_runs=1,
            n_trainable=9,
            params={"input_size": 16, "max_epochs": 1},
        )


def test_validation_scheme_4_keeps_the_source_output_layer(digits):
    """Scheme 4 updates only the last layers of the scheme-2 network."""
    X, y = digits
    result = validation_schemes_study(
        X[:150],
        y[:150],
        X[150:],
        y[150:],
        n_runs=1,
        params={"input_size": 16, "max_epochs": 4},
    )
    scores = {row["scheme"]: row["mean"] for row in result["summary"]}
    assert scores[4] > 0.5  # a re-initialised head after 4 epochs would not be


def test_transferability_curve(digits):
    X, y = digits
    result = transferability_curve(
        X[y < 5],
        y[y < 5],
        X[y >= 5],
        y[y >= 5],
        n_values=(1, 4),
        n_repeats=1,
        params=FAST,
    )
    keys = [(row["experiment"], row["n"]) for row in result["summary"]]
    assert keys[0] == ("baseB", 0)
    for n in (1, 4):
        for name in ("nBToB_fr", "nBToB_ft", "nAToB_fr", "nAToB_ft"):
            assert (name, n) in keys
    assert result["layer_names"] == ["conv1", "conv2", "conv3", "fc1"]
    with pytest.raises(ValueError, match="`n_values` must lie in 1..4"):
        transferability_curve(
            X[y < 5],
            y[y < 5],
            X[y >= 5],
            y[y >= 5],
            n_values=(5,),
            n_repeats=1,
            params={"input_size": 16, "max_epochs": 1},
        )


def test_transferability_frozen_units_stay_those_of_the_source(digits, monkeypatch):
    """nAToB_fr really keeps modelA's first n units during training on B."""
    import torch

    X, y = digits
    fitted = []
    original = PretrainedCNNClassifier.fit

    def spy(self, X, y, **kw):
        out = original(self, X, y, **kw)
        fitted.append(self)
        return out

    monkeypatch.setattr(PretrainedCNNClassifier, "fit", spy)
    transferability_curve(
        X[y < 5],
        y[y < 5],
        X[y >= 5],
        y[y >= 5],
        n_values=(2,),
        n_repeats=1,
        params=FAST,
    )
    model_a, a_fr = fitted[0], fitted[4]  # modelA, baseB, nBToB_fr, nBToB_ft, nAToB_fr
    assert a_fr.freeze_upto == 2 and a_fr.n_frozen_ == 2
    for unit in ("conv1", "conv2"):
        for p, q in zip(
            model_a.module_.units[unit].parameters(),
            a_fr.module_.units[unit].parameters(),
            strict=True,
        ):
            assert torch.equal(p, q)


def test_target_size_curve():
    rng = np.random.default_rng(0)
    X, y = rng.random((100, 4)), np.repeat([0, 1], 50)
    result = target_size_curve(
        {"prior": DummyClassifier(), "also": DummyClassifier()},
        X,
        y,
        train_sizes=(0.5, 1.0, 10),
        n_repeats=2,
    )
    assert [(r["method"], r["n_train"]) for r in result["summary"]][:3] == [
        ("prior", 10),
        ("also", 10),
        ("prior", 35),
    ]
    assert len(result["runs"]) == 2 * 3 * 2
    for bad in ((0,), (1.5,), (500,)):
        with pytest.raises(ValueError, match="`train_sizes`"):
            target_size_curve({"p": DummyClassifier()}, X, y, train_sizes=bad)
    with pytest.raises(ValueError, match="`estimators`"):
        target_size_curve([DummyClassifier()], X, y)


def test_target_size_curve_with_a_cnn(digits):
    X, y = digits
    result = target_size_curve(
        {"cnn": PretrainedCNNClassifier("small_cnn", **FAST)},
        X[:100],
        y[:100],
        train_sizes=(30,),
        n_repeats=1,
    )
    assert result["summary"][0]["n_train"] == 30


def test_transfer_study(digits):
    X, y = digits
    seen, started = [], []
    result = transfer_study(
        X[y < 5],
        y[y < 5],
        X[y >= 5][:80],
        y[y >= 5][:80],
        n_repeats=2,
        source_params=FAST,
        target_params=FAST,
        callback=seen.append,
        on_start=started.append,
    )
    methods = {row["method"] for row in result["summary"]}
    assert methods == {
        "linear SVM on raw pixels",
        "CNN from scratch",
        "top features + linear SVM",
        "earlier features (conv2) + linear SVM",
        "features of several units + linear SVM",
        "fine-tune, freeze_upto=0",
        "fine-tune, freeze_upto=2",
        "fine-tune, freeze_upto=all",
        "label-relation transfer",
    }
    means = [row["mean"] for row in result["summary"]]
    assert means == sorted(means, reverse=True)
    assert result["best"] == result["summary"][0]["method"]
    assert len(seen) == 18 and -1 <= result["similarity"] <= 1
    assert isinstance(result["advice"], Advice)
    assert result["advice_methods"] and set(result["advice_methods"]) <= methods
    assert set(result["last_run"]["predictions"]) == methods
    # What is running is announced, the source's training first, and timed.
    assert started[0] == "training the source network"
    assert started[1:] == [row["method"] for row in seen]
    assert result["source_fit_time"] > 0
    # Every other method against the SVM on pixels, paired over the 2 splits.
    assert len(result["against_baseline"]) == 8
    assert {c["other"] for c in result["against_baseline"]} == {
        "linear SVM on raw pixels"
    }
    assert all(c["n_runs"] == 2 for c in result["against_baseline"])
    best, runner_up = (row["method"] for row in result["summary"][:2])
    assert result["verdicts"][-1]["method"] == best
    assert result["verdicts"][-1]["other"] == runner_up
    for c in result["verdicts"]:
        assert c["low"] <= c["mean"] <= c["high"] and 0 <= c["p_value"] <= 1
    from sktransfer._cli._report import _advice_lines

    assert sum(line.startswith("Verdict: ") for line in _advice_lines(result)) == len(
        result["verdicts"]
    )

    assert any(
        line.startswith("Time: training the source network ")
        for line in _advice_lines(result)
    )
    assert result["defaults"]["method"] == "fine-tune, freeze_upto=0"
    assert any(
        line.startswith("Defaults: with freeze_upto='auto' the estimators fine-tune ")
        and "grey training images of 8 px (small and grey, far from the "
        "source's photos)"
        in line
        for line in _advice_lines(result)
    )


def test_transfer_study_leaves_out_lrt_when_the_target_has_more_classes(digits):
    X, y = digits
    result = transfer_study(
        X[y < 2],
        y[y < 2],
        X[y >= 2][:90],
        y[y >= 2][:90],
        n_repeats=1,
        freeze_values=("all",),
        source_params=FAST,
        target_params=FAST,
    )
    assert "label-relation transfer" not in {r["method"] for r in result["summary"]}


def test_transfer_study_from_scratch_false_leaves_out_that_row_only(digits):
    from sktransfer.model_selection._transfer_study import SCRATCH, trains_network

    X, y = digits
    methods = []
    result = transfer_study(
        X[y < 2][:60],
        y[y < 2][:60],
        X[y >= 8][:40],
        y[y >= 8][:40],
        n_repeats=1,
        freeze_values=(0, "all"),
        label_relation=False,
        from_scratch=False,
        source_params=FAST,
        target_params=FAST,
        callback=lambda row: methods.append(row["method"]),
    )
    assert SCRATCH not in methods and len(methods) == 6
    assert [m for m in methods if trains_network(m)] == ["fine-tune, freeze_upto=0"]
    assert {row["method"] for row in result["summary"]} == set(methods)
    assert trains_network(SCRATCH) and trains_network("label-relation transfer")
    assert not trains_network("top features + linear SVM")


def test_the_source_network_learns_through_all_its_units(digits):
    """At photo size the defaults would freeze a pretrained body; the
    study's source network still learns the source task with all of it."""
    X, y = digits
    X = np.kron(X, np.ones((1, 12, 12), np.uint8))  # 96 px
    pretrained = PretrainedCNNClassifier("small_cnn", **FAST).fit(X[:40], y[:40])
    result = transfer_study(
        X[y < 2][:40],
        y[y < 2][:40],
        X[y >= 8][:30],
        y[y >= 8][:30],
        backbone=pretrained,
        n_repeats=1,
        freeze_values=("all",),
        label_relation=False,
        from_scratch=False,
        source_params=FAST,
        target_params=FAST,
    )
    assert result["source"].n_frozen_ == 0
    # The report says what the defaults train here, and which row measured it.
    assert result["defaults"] == {
        "freeze_upto": "all",
        "image_shape": (1, 96, 96),
        "n_train": 21,
        "shift": None,  # small_cnn: no BatchNorm layer to read
        "method": "fine-tune, freeze_upto=all",
    }
    from sktransfer._cli._report import _advice_lines

    assert (
        "Defaults: with freeze_upto='auto' the estimators train a head on the "
        "frozen body on 21 grey training images of 96 px (near the source's "
        "photos; fewer than 1,000 images): the row 'fine-tune, freeze_upto=all'."
    ) in _advice_lines(result)


@pytest.mark.parametrize(
    "n, similarity, scenario, params",
    [
        (200, 0.95, 1, {"freeze_upto": "all"}),
        (5000, 0.95, 2, {"freeze_upto": 0}),
        (200, 0.5, 3, {"freeze_upto": "all", "layer": "half"}),
        (5000, 0.5, 4, {"freeze_upto": 0, "weights": "DEFAULT"}),
    ],
)
def test_suggest_strategy_four_scenarios(n, similarity, scenario, params):
    advice = suggest_strategy(n, similarity)
    assert advice.scenario == scenario and advice.params == params
    assert f"Scenario {scenario}" in str(advice)


def test_suggest_strategy_thresholds_and_errors():
    assert suggest_strategy(200, 0.95, small_below=100).scenario == 2
    assert suggest_strategy(200, 0.95, similar_above=0.99).scenario == 3
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="`n_samples`"):
            suggest_strategy(bad, 0.5)
    for bad in (1.5, "high"):
        with pytest.raises(ValueError, match="`similarity`"):
            suggest_strategy(10, bad)


def test_transfer_study_on_the_mlp_reads_its_dense_middle_unit(digits):
    # The middle unit of the mlp is the dense fc1, after the flatten.
    X, y = digits
    result = transfer_study(
        X[y < 2][:60],
        y[y < 2][:60],
        X[y >= 8][:40],
        y[y >= 8][:40],
        backbone="mlp",
        n_repeats=1,
        freeze_values=("all",),
        label_relation=False,
        source_params={**FAST, "input_size": 8},
        target_params={**FAST, "input_size": 8},
    )
    assert "earlier features (fc1) + linear SVM" in {
        row["method"] for row in result["summary"]
    }
