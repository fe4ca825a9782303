import numpy as np
import pytest

from sktransfer import LabelRelationTransfer, PretrainedCNNClassifier
from sktransfer.baselines import linear_svm_on_pixels
from sktransfer.inspection import RelationDisplay
from sktransfer.model_selection import format_table, label_relation_study, summarise


def test_label_relation_study_tables(digits):
    X, y = digits
    seen = []
    result = label_relation_study(
        X[y < 6],
        y[y < 6],
        X[y >= 6],
        y[y >= 6],
        n_train_per_class=5,
        n_repeats=2,
        source_params={"max_epochs": 2, "input_size": 8},
        target_params={"max_epochs": 2},
        callback=seen.append,
    )
    methods = {t: [r["method"] for r in result[t]] for t in ("II", "IV", "V")}
    assert methods["II"] == [
        "whole-layer transfer (relation-chosen outputs)",
        "whole-layer transfer (random outputs)",
    ]
    assert [m.split(":")[0] for m in methods["IV"][:3]] == ["T=0", "T=1", "T=2"]
    assert methods["IV"][-1].startswith("whole-layer")
    assert "linear SVM on raw pixels" in methods["V"]
    assert any("Oquab" in m for m in methods["V"])
    for table in ("II", "IV", "V"):
        for row in result[table]:
            assert row["n_runs"] == 2 and 0 <= row["mean"] <= 1 and row["sd"] >= 0
    assert len(result["runs"]) >= 2 * 7 and seen
    assert format_table(result["V"]).startswith("| table | method | mean")
    # Whole-layer LRT against random outputs (II) and each method of V.
    compared = [(c["table"], c["other"]) for c in result["comparisons"]]
    assert compared[0] == ("II", "whole-layer transfer (random outputs)")
    assert {other for table, other in compared[1:]} == set(methods["V"]) - {
        "whole-layer transfer (relation-chosen outputs)"
    }
    for c in result["comparisons"]:
        assert c["n_runs"] == 2 and c["low"] <= c["mean"] <= c["high"]


def test_study_refuses_too_few_target_images(digits):
    X, y = digits
    with pytest.raises(ValueError, match="`n_train_per_class`=500 leaves no test"):
        label_relation_study(
            X[y < 6],
            y[y < 6],
            X[y >= 6],
            y[y >= 6],
            n_train_per_class=500,
            n_repeats=1,
            source_params={"max_epochs": 1, "input_size": 8},
        )


def test_summarise_mean_and_sd():
    rows = summarise(
        [
            {"table": "V", "method": "a", "accuracy": v, "fit_time": 1.0}
            for v in (0.2, 0.4, 0.6)
        ]
    )
    assert rows == [
        {
            "table": "V",
            "method": "a",
            "mean": 0.4,
            "sd": 0.2,
            "n_runs": 3,
            "fit_time": 1.0,
        }
    ]


def test_linear_svm_on_pixels_takes_images(digits):
    X, y = digits
    assert linear_svm_on_pixels(0).fit(X[:200], y[:200]).score(X[200:], y[200:]) > 0.8


def test_relation_display_from_estimator(digits):
    import matplotlib.pyplot as plt

    X, y = digits
    source = PretrainedCNNClassifier(
        "mlp", input_size=8, max_epochs=2, random_state=0
    ).fit(X[y < 6], y[y < 6])
    lrt = LabelRelationTransfer(source, max_epochs=1).fit(X[y >= 6], y[y >= 6])
    display = RelationDisplay.from_estimator(lrt)
    assert len(display.bars_) == 4 and len(display.bars_[0]) == 6
    assert len(display.markers_) == 4
    heights = [bar.get_height() for bar in display.bars_[0]]
    np.testing.assert_allclose(heights, lrt.relation_[0])
    assert "chosen output" in display.ax_.get_title()
    _, ax = plt.subplots()
    assert RelationDisplay.from_estimator(lrt, ax=ax).ax_ is ax
    plt.close("all")


def test_relation_display_keeps_the_strongest_outputs():
    rng = np.random.default_rng(0)
    relation = rng.dirichlet(np.ones(50), size=2)
    display = RelationDisplay(
        relation, ["a", "b"], [f"s{i}" for i in range(50)], [3, 40]
    ).plot(max_outputs=6)
    assert len(display.shown_outputs_) == 6
    assert {3, 40} <= set(display.shown_outputs_.tolist())
    assert "top 6 of 50" in display.ax_.get_title()


def test_relation_display_needs_a_fitted_estimator():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RelationDisplay.from_estimator(LabelRelationTransfer())
