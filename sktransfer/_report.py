"""The transfer study's report: the printed table and the files in ``--out``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["format_summary", "print_report", "write_report"]


def format_summary(result):
    """Markdown table of the study summary, best first."""
    lines = [
        "| method | accuracy (mean ± SD) | runs | fit time (s) |",
        "|---|---|---|---|",
    ]
    for row in result["summary"]:
        lines.append(
            f"| {row['method']} | {row['mean']:.4f} ± {row['sd']:.4f} | "
            f"{row['n_runs']} | {row['fit_time']:.1f} |"
        )
    return "\n".join(lines)


def _advice_lines(result):
    summary = result["summary"]
    ranks = {row["method"]: rank for rank, row in enumerate(summary, 1)}
    advice = result["advice"]
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
    baseline = next(r for r in summary if r["method"] == "linear SVM on raw pixels")
    best = summary[0]
    lines.append(
        f"Best over the linear SVM on raw pixels: "
        f"{best['mean'] - baseline['mean']:+.4f} accuracy."
    )
    return lines


def print_report(result):
    print()
    print(format_summary(result))
    print()
    print("\n".join(_advice_lines(result)), flush=True)


def _save(figure, path, written):
    import matplotlib.pyplot as plt

    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    written.append(path)


def write_report(result, out, description=""):
    """Write study.md, study.csv and the PNG plots; return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    from .inspection import (
        FilterDisplay,
        GradCAMDisplay,
        StudyDisplay,
        TransferabilityDisplay,
    )

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

    units = result["source"].layer_names_
    fine = [r for r in result["summary"] if r["method"].startswith("fine-tune")]
    if len(fine) > 1:
        rows = []
        for row in fine:
            value = row["method"].split("=", 1)[1]
            n = (
                len(units)
                if value == "all"
                else int(value)
                if value.isdigit()
                else None
            )
            if n is not None:
                rows.append({**row, "setting": "fine-tuned source network", "n": n})
        if rows:
            curve = TransferabilityDisplay(
                rows, group="setting", xlabel="units frozen (freeze_upto)"
            ).plot(title=f"Freezing the source network ({', '.join(units)})")
            _save(curve.figure_, out / "freeze_curve.png", written)

    try:
        filters = FilterDisplay.from_estimator(result["source"])
    except ValueError:
        filters = None  # no convolution (an MLP backbone)
    if filters is not None:
        _save(filters.figure_, out / "filters.png", written)

    # Explain the best method when it is a network, else the CNN from scratch.
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
