"""Tables as lists of dicts: one row per method, mean and SD over runs."""

from __future__ import annotations

import numpy as np

__all__ = ["format_table", "summarise"]


def summarise(runs, *, by=("table", "method"), value="accuracy"):
    """Group per-run rows and report mean, SD (ddof=1) and the run count.

    Parameters
    ----------
    runs : list of dict
        One dict per run and method.
    by : tuple of str
        Keys that identify a row.
    value : str
        The key to average.

    Returns
    -------
    rows : list of dict
        In order of first appearance, with ``mean``, ``sd``, ``n_runs`` and
        ``fit_time`` (mean) when the runs have it.

    Examples
    --------
    >>> from sktransfer.model_selection import summarise
    >>> summarise([{"method": "a", "accuracy": 0.5}, {"method": "a", "accuracy": 0.7}],
    ...           by=("method",))
    [{'method': 'a', 'mean': 0.6, 'sd': 0.1414, 'n_runs': 2}]
    """
    groups = {}
    for run in runs:
        groups.setdefault(tuple(run[key] for key in by), []).append(run)
    rows = []
    for key, members in groups.items():
        values = np.array([m[value] for m in members], dtype=float)
        row = dict(zip(by, key, strict=True))
        row["mean"] = round(float(values.mean()), 4)
        row["sd"] = round(float(values.std(ddof=1)) if len(values) > 1 else 0.0, 4)
        row["n_runs"] = len(values)
        if all("fit_time" in m for m in members):
            row["fit_time"] = round(float(np.mean([m["fit_time"] for m in members])), 2)
        rows.append(row)
    return rows


def format_table(rows, columns=None):
    """Markdown table of ``rows`` (list of dicts).

    Parameters
    ----------
    rows : list of dict
        One row each, e.g. a study's ``"summary"``.
    columns : list of str or None, default=None
        The columns, in order; None: the keys of the first row.

    Returns
    -------
    table : str
        Markdown: a header, a separator and one line per row.

    Examples
    --------
    >>> from sktransfer.model_selection import format_table
    >>> print(format_table([{"method": "svm", "mean": 0.9, "sd": 0.01}]))
    | method | mean | sd |
    |---|---|---|
    | svm | 0.9 | 0.01 |
    """
    if not rows:
        return ""
    columns = list(columns or rows[0])
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)
