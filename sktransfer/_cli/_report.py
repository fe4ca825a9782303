"""The transfer study's report: the printed table and the files in ``--out``."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

from .._training import auto_freezing_and_why
from ..inspection import FilterDisplay, GradCAMDisplay, StudyDisplay
from ..model_selection._verdict import verdict_sentence

__all__ = ["format_summary", "print_report", "write_report"]

BASELINE = "linear SVM on raw pixels"
COMPARISON_FIELDS = (
    "method",
    "other",
    "mean",
    "low",
    "high",
    "p_value",
    "significant",
    "n_runs",
    "repeats_needed",
)


def _against(comparison):
    """A table cell: difference [95% interval], p-value."""
    c = comparison
    return f"{c['mean']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}], p={c['p_value']:.2g}"


def format_summary(result):
    """Markdown table of the study summary, best first, with each method's
    difference to the linear SVM on pixels (95% interval, p-value) when the
    study ran two repeats or more."""
    against = {c["method"]: c for c in result.get("against_baseline", [])}
    header = "| method | accuracy (mean ± SD) | runs | fit time (s) |"
    rule = "|---|---|---|---|"
    if against:
        baseline = next(iter(against.values()))["other"]
        header += f" vs {baseline} (95% interval, p) |"
        rule += "---|"
    lines = [header, rule]
    for row in result["summary"]:
        spread = f"± {row['sd']:.4f}" if row["n_runs"] > 1 else "(one run: no SD)"
        line = (
            f"| {row['method']} | {row['mean']:.4f} {spread} | "
            f"{row['n_runs']} | {row['fit_time']:.1f} |"
        )
        if against:
            cell = against.get(row["method"])
            line += f" {_against(cell) if cell else 'baseline'} |"
        lines.append(line)
    return "\n".join(lines)


def _defaults_line(defaults):
    """What the estimators' defaults train on these images, why, and the
    row that measured it."""
    shape, n = defaults["image_shape"], defaults["n_train"]
    freeze_upto, why = auto_freezing_and_why(shape, n, shift=defaults.get("shift"))
    what = (
        "train a head on the frozen body"
        if freeze_upto == "all"
        else "fine-tune the whole network"
    )
    kind = "grey" if shape[0] == 1 else "colour"
    row = defaults["method"]
    measured = (
        f"the row '{row}'"
        if row
        else f"not measured here (add {freeze_upto} to --freeze)"
    )
    return (
        f"Defaults: with freeze_upto='auto' the estimators {what} on {n} "
        f"{kind} training images of {min(shape[1:])} px ({why}): {measured}."
    )


def _advice_lines(result):
    summary = result["summary"]
    ranks = {row["method"]: rank for rank, row in enumerate(summary, 1)}
    advice = result["advice"]
    if advice is None:
        lines = [
            "No source images: the pretrained backbone is the source, so there "
            "is no similarity to measure and no advice (see the table)."
        ]
    else:
        lines = [
            f"Source/target similarity (cosine of mean top features): "
            f"{result['similarity']:.4f}",
            f"Advice: {advice}",
        ]
    for method in result["advice_methods"]:
        lines.append(
            f"Measured: the advised '{method}' ranks {ranks[method]} of "
            f"{len(summary)}; the best is '{result['best']}'."
        )
    defaults = result.get("defaults")
    if defaults is not None:
        lines.append(_defaults_line(defaults))
    verdicts = result.get("verdicts", [])
    if verdicts:
        lines += [f"Verdict: {verdict_sentence(c)}" for c in verdicts]
    else:
        baseline = next(r for r in summary if r["method"] == BASELINE)
        lines.append(
            f"Best over the {BASELINE}: "
            f"{summary[0]['mean'] - baseline['mean']:+.4f} accuracy."
        )
    if result.get("source") is not None and "source_fit_time" in result:
        fits = sum(row["fit_time"] * row["n_runs"] for row in summary)
        timing = (
            f"Time: training the source network {result['source_fit_time']:.1f} s "
            f"(not in the table); target fits {fits:.1f} s"
        )
        if "total_time" in result:
            timing += f"; the whole study {result['total_time']:.1f} s"
        lines.append(timing + ".")
    if max(row["n_runs"] for row in summary) < 2:
        lines.append(
            "Caveat: every method ran once, so there is no spread to judge the "
            "differences by; a few points of accuracy can be the luck of one "
            "split. Run --repeats 3 or more before acting on this ranking."
        )
    return lines


def print_report(result):
    print()
    print(format_summary(result))
    print()
    print("\n".join(_advice_lines(result)), flush=True)


def _save(figure, path, written):
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    written.append(path)


def _freeze_curve(result):
    """Accuracy at each measured ``freeze_upto``: points with SD bars, no
    line through values never measured, "all" labelled as such."""
    units = result["units"]
    points = []
    for row in result["summary"]:
        if not row["method"].startswith("fine-tune"):
            continue
        value = row["method"].split("=", 1)[1]
        if value == "all":
            points.append((len(units), f"all\n({len(units)})", row))
        elif value.isdigit():
            points.append((int(value), value, row))
    if len(points) < 2:
        return None
    points.sort(key=lambda point: point[0])
    figure, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.errorbar(
        [x for x, _, _ in points],
        [row["mean"] for _, _, row in points],
        yerr=[row["sd"] for _, _, row in points],
        fmt="o",
        capsize=4,
        label="fine-tuned source network (mean ± SD)",
    )
    ax.set_xticks([x for x, _, _ in points], [label for _, label, _ in points])
    ax.set_xlim(-0.5, len(units) + 0.5)
    ax.set_xlabel("units frozen (freeze_upto); only these values were measured")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Freezing the source network ({', '.join(units)})", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return figure


def write_report(result, out, description=""):
    """Write study.md, study.csv (one row per run), comparisons.csv (each
    method against the linear SVM on pixels, the best against the runner-up)
    and the PNG plots; return the paths."""
    matplotlib.use("Agg")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    markdown = out / "study.md"
    markdown.write_text(
        f"# Transfer study\n\n{description}\n\n{format_summary(result)}\n\n"
        + "\n".join(f"* {line}" for line in _advice_lines(result))
        + "\n"
    )
    written.append(markdown)
    table = out / "study.csv"
    with table.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(result["runs"][0]))
        writer.writeheader()
        writer.writerows(result["runs"])
    written.append(table)
    comparisons = result.get("against_baseline", []) + result.get("verdicts", [])
    if comparisons:
        table = out / "comparisons.csv"
        with table.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COMPARISON_FIELDS)
            writer.writeheader()
            seen = set()
            for row in comparisons:
                if (row["method"], row["other"]) not in seen:
                    seen.add((row["method"], row["other"]))
                    writer.writerow({k: row[k] for k in COMPARISON_FIELDS})
        written.append(table)

    display = StudyDisplay(result["summary"]).plot()
    _save(display.figure_, out / "comparison.png", written)

    last = result["last_run"]
    best = result["best"]
    figure, ax = plt.subplots(figsize=(5.5, 5))
    ConfusionMatrixDisplay.from_predictions(
        last["y_test"], last["predictions"][best], ax=ax, colorbar=False
    )
    ax.set_title(f"{best}\n(last run's test part)", fontsize=10)
    _save(figure, out / "confusion.png", written)

    curve = _freeze_curve(result)
    if curve is not None:
        _save(curve, out / "freeze_curve.png", written)

    try:
        # The source's first layer; without one, the fine-tuned network's.
        networks = [m for m in last["models"].values() if hasattr(m, "module_")]
        shown = result["source"] if result["source"] is not None else networks[-1]
        filters = FilterDisplay.from_estimator(shown)
    except ValueError:
        filters = None  # no convolution (an MLP backbone)
    if filters is not None:
        _save(filters.figure_, out / "filters.png", written)

    # Explain the best method when it is a network, else the study's first one.
    networks = [m for m, model in last["models"].items() if hasattr(model, "module_")]
    cnn = best if best in networks else networks[0]
    picks = np.arange(min(8, len(last["y_test"])))
    try:
        cam = GradCAMDisplay.from_estimator(
            last["models"][cnn], last["X_test"][picks], y=last["y_test"][picks]
        )
    except ValueError:
        cam = None  # no convolutional unit
    if cam is not None:
        cam.figure_.suptitle(f"Grad-CAM of '{cnn}'")
        _save(cam.figure_, out / "gradcam.png", written)
    return written
