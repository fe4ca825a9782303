"""What a model file says about its model, read without building it.

:func:`describe` writes the summary into the manifest when the model is
saved: the estimator and its steps, the classes or targets, the images it
was fitted on, where each network is and where its pretrained weights came
from. :class:`ModelInfo` shows it with what the records say of each network
(its estimator, parameters and fitted state, as ``load_model`` would use
them) and the names the file gives, for ``sktransfer inspect`` and the model
card. Text from the file is shown escaped.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass

import numpy as np
from sklearn.base import is_regressor

from .._inputs import fitted_image_shape
from .._networks import weights_origin
from ._archive import weights_member
from ._records import estimator_classes

__all__ = ["ModelInfo", "describe"]


def short(value, limit=60):
    """``repr(value)``, cut to ``limit`` characters (an array: its dtype and
    shape)."""
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype.str} {value.shape}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def escaped(text):
    """``text`` with every character that is not printable (a newline, a
    terminal's escape codes) written as its escape."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
        for c in str(text)
    )


def _same(value, default):
    try:
        return type(value) is type(default) and bool(np.all(value == default))
    except (TypeError, ValueError):
        return False


def _json(value):
    """``value`` as JSON data, or its text."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return [str(v) for v in value] if isinstance(value, list) else str(value)


def describe(model, networks):
    """The summary a model file keeps of ``model`` (JSON data); ``networks``
    are ``(where, estimator)`` in the order of the weights members."""
    steps = getattr(model, "steps", None)
    first = last = model
    while getattr(first, "steps", None):
        first, last = first.steps[0][1], last.steps[-1][1]
    targets, classes = None, getattr(model, "classes_", None)
    if is_regressor(last) and hasattr(last, "target_mean_"):
        targets = {
            "n": int(last.n_outputs_),
            "mean": [float(v) for v in np.ravel(last.target_mean_)],
            "sd": [float(v) for v in np.ravel(last.target_scale_)],
        }
    shape = fitted_image_shape(model)
    return {
        "model": type(model).__name__,
        "steps": [[n, type(s).__name__] for n, s in steps] if steps else None,
        "classes": None if classes is None else _json(np.asarray(classes).tolist()),
        "targets": targets,
        "image_shape": list(shape) if shape is not None else None,
        "n_training_images": getattr(first, "n_samples_fit_", None),
        "networks": [
            {
                "where": where,
                "pretrained_weights": weights_origin(
                    getattr(estimator, "backbone", None),
                    getattr(estimator, "weights", None),
                    getattr(estimator, "weights_sha256", None),
                ),
            }
            for where, estimator in networks
        ],
    }


def _megabytes(n):
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _pairs(mapping):
    return ", ".join(f"{k}={v}" for k, v in mapping.items())


@dataclass(frozen=True)
class ModelInfo:
    """What a model file holds, read without building the model.

    Returned by :func:`~sktransfer.inspect_model`; ``str(info)`` is what
    ``sktransfer inspect`` prints, :meth:`to_markdown` the model card.

    Parameters
    ----------
    path : Path
        The file.
    manifest : dict
        Its manifest: versions, date, the summary, the members' SHA-256.
    types : tuple of str
        Every class, function and type the file names.
    untrusted : tuple of str
        Those :func:`~sktransfer.load_model` refuses unless ``trusted``.
    records : tuple, default=()
        Each estimator of this library in the file, its parameters and
        fitted state as :func:`~sktransfer.load_model` would use them.
    n_values : tuple of int, default=()
        The number of values in each network's weights.
    """

    path: object
    manifest: dict
    types: tuple
    untrusted: tuple
    records: tuple = ()
    n_values: tuple = ()

    @property
    def summary(self):
        """The summary written when the model was saved (a dict)."""
        return self.manifest["summary"]

    def _network_rows(self, i, network):
        record = next(r for r in self.records if r.weights == i)
        defaults = inspect.signature(estimator_classes()[record.estimator]).parameters
        changed = {
            name: short(value, 80)
            for name, value in record.params.items()
            if not _same(value, getattr(defaults.get(name), "default", None))
        }
        fitted = record.fitted
        chose = {
            key: fitted[attribute]
            for attribute, key in (
                ("n_frozen_", "frozen_units"),
                ("max_epochs_", "epochs"),
                ("n_recalibrated_", "recalibrated_batchnorm_layers"),
                ("layer_", "layer"),
            )
            if attribute in fitted
        }
        member = self.manifest["members"][weights_member(i)]
        shape = list(fitted.get("image_shape_", ()))
        return [
            (f"network {i}", f"{record.estimator} ({network.get('where')})"),
            ("  backbone", short(record.params.get("backbone"))),
            ("  pretrained weights", network.get("pretrained_weights")),
            ("  parameters", _pairs(changed) or "the defaults"),
            ("  fit chose", _pairs(chose)),
            ("  trained on", f"{fitted.get('n_samples_fit_')} images of {shape}"),
            (
                "  weights",
                f"{weights_member(i)}: {self.n_values[i]:,} values, "
                f"{_megabytes(member['bytes'])}, sha256 {member['sha256']}",
            ),
        ]

    def _rows(self):
        m, s = self.manifest, self.summary
        size = sum(member["bytes"] for member in m["members"].values())
        model = str(s.get("model"))
        if s.get("steps"):
            model += ": " + " -> ".join(f"{n} ({c})" for n, c in s["steps"])
        rows = [
            ("file", f"{self.path} ({_megabytes(size)}, format {m['format_version']})"),
            (
                "saved",
                f"{m.get('saved')} by sktransfer {m.get('sktransfer_version')} "
                f"(torch {m.get('torch_version')}, Python {m.get('python_version')})",
            ),
            ("model", model),
        ]
        targets = s.get("targets")
        if targets:
            means = ", ".join(f"{v:.4g}" for v in targets["mean"])
            sds = ", ".join(f"{v:.4g}" for v in targets["sd"])
            text = f"{targets['n']} continuous (training mean {means}; SD {sds})"
            rows.append(("targets", text))
        else:
            rows.append(("classes", s.get("classes")))
        rows.append(("image shape", s.get("image_shape")))
        rows.append(("training images", s.get("n_training_images")))
        networks = s.get("networks") or []
        for i in range(len(self.n_values)):
            rows += self._network_rows(i, networks[i] if i < len(networks) else {})
        rows.append(("types named", ", ".join(self.types)))
        untrusted = "none (load_model builds it as it is)"
        if self.untrusted:
            untrusted = ", ".join(self.untrusted) + (
                "  (load_model refuses them unless you pass them in `trusted`)"
            )
        rows.append(("untrusted types", untrusted))
        return [(key, escaped(value)) for key, value in rows]

    def __str__(self):
        rows = self._rows()
        width = max(len(key) for key, _ in rows) + 2
        return "\n".join(f"{key + ':':<{width}}{value}" for key, value in rows)

    def to_markdown(self):
        """A short model card: what the model is, what it was trained on,
        where its weights came from, and how to load it.

        Returns
        -------
        card : str
        """
        name = escaped(getattr(self.path, "name", self.path))
        rows = []
        for key, value in self._rows()[1:]:
            cell = value.replace("|", "\\|")
            rows.append(f"| {key.strip()} | {cell} |")
        return "\n".join(
            [
                f"# Model card: {name}",
                "",
                f"A {escaped(self.summary.get('model'))} saved by sktransfer "
                f"{escaped(self.manifest.get('sktransfer_version'))}.",
                "",
                "| | |",
                "|---|---|",
                *rows,
                "",
                "## Loading",
                "",
                "The file holds no pickle: `sktransfer.load_model(path)` builds the "
                "model from its parameters and weights and refuses any type outside "
                "the ones listed above. `sktransfer inspect FILE` shows this summary "
                "without building anything.",
                "",
                "```python",
                "from sktransfer import load_model",
                f"model = load_model({name!r})",
                "```",
                "",
                "## Limitations",
                "",
                "Trained on the images counted above only; check it on images of the "
                "setting where it is to be used before relying on it.",
                "",
            ]
        )
