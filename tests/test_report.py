"""The study's printed table and freezing curve say only what was measured."""

import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sktransfer._cli._report import _advice_lines, _freeze_curve, format_summary  # noqa: E402


def _result(n_runs):
    rows = [
        ("fine-tune, freeze_upto=0", 0.95),
        ("fine-tune, freeze_upto=2", 0.97),
        ("fine-tune, freeze_upto=all", 0.90),
        ("linear SVM on raw pixels", 0.93),
    ]
    summary = [
        {
            "method": m,
            "mean": v,
            "sd": 0.0 if n_runs == 1 else 0.01,
            "n_runs": n_runs,
            "fit_time": 1.0,
        }
        for m, v in sorted(rows, key=lambda r: -r[1])
    ]
    units = ["conv1", "conv2", "fc1", "fc2"]
    source = types.SimpleNamespace(layer_names_=units)
    advice = "Scenario 2"
    return {
        "summary": summary,
        "source": source,
        "units": units,
        "advice": advice,
        "advice_methods": [],
        "best": summary[0]["method"],
        "similarity": 0.5,
    }


def test_one_run_has_no_spread_and_says_so():
    one = _result(1)
    assert "± 0.0000" not in format_summary(one)
    assert "(one run: no SD)" in format_summary(one)
    assert any("Caveat: every method ran once" in line for line in _advice_lines(one))
    three = _result(3)
    assert "0.9700 ± 0.0100" in format_summary(three)
    assert not any("Caveat" in line for line in _advice_lines(three))


def test_freeze_curve_labels_all_and_draws_no_line_between_points():
    figure = _freeze_curve(_result(3))
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["0", "2", "all\n(4)"]
    assert list(ax.get_xticks()) == [0, 2, 4]
    for line in ax.get_lines():  # markers only: nothing drawn through 1 and 3
        assert line.get_linestyle() in ("None", "none", "")
    plt.close(figure)
