"""What a model file says about its model, read without building it.

:func:`describe` writes the summary into the manifest when the model is
saved: the estimator and its steps, the classes, the images it was fitted
on, and for each network its backbone, where the pretrained weights came
from, the recipe's parameters and what the fit chose. :class:`ModelInfo`
reads it back with the types the file names (read off the skops.io schema,
nothing imported), for ``sktransfer inspect`` and the model card.
"""

from __future__ import annotations

import inspect
import json
import zipfile
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from sklearn.base import is_regressor

from .._inputs import fitted_image_shape, fitted_network
from .._networks import find_weights
from ..backbones._registry import get_backbone_spec
from ..backbones._weights import sha256_of
from ._file_values import file_value, shown
from ._stored import estimator_classes

__all__ = ["ModelInfo", "describe", "named_types"]


def short(value, limit=60):
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def escaped(text):
    """``text`` with every character that is not printable (a newline, a
    terminal's escape codes) written as its escape, so that text from a file
    cannot draw lines of its own."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
        for c in str(text)
    )


def changed_parameters(record):
    """The parameters of a file's estimator ``record`` (a
    :class:`~sktransfer._model_files._tree.RecordInfo`) that differ from its
    class's defaults, as text."""
    cls = estimator_classes().get(record.estimator)
    defaults = inspect.signature(cls).parameters if cls is not None else {}
    changed = {}
    for name, value in record.params.items():
        default = getattr(defaults.get(name), "default", inspect.Parameter.empty)
        if default is inspect.Parameter.empty or file_value(default) != value:
            changed[name] = shown(value)
    return changed


def _json_labels(classes):
    if classes is None:
        return None
    return [v.item() if isinstance(v, np.generic) else v for v in np.asarray(classes)]


def _safe_json(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return [str(v) for v in value] if isinstance(value, list) else str(value)


def _pretrained_origin(estimator):
    """Where the pretrained weights of the estimator's source came from."""
    backbone = getattr(estimator, "backbone", None)
    weights = getattr(estimator, "weights", None)
    if not isinstance(backbone, str):
        return f"the trained network of the source ({type(backbone).__name__})"
    if weights is None:
        return "none: random initialisation (weights=None)"
    spec = get_backbone_spec(backbone)
    entry = find_weights(spec, weights, must_exist=False)
    if entry is None and isinstance(weights, str) and weights == "DEFAULT":
        return "none: random initialisation (a built-in without pretrained weights)"
    if entry is None:
        digest = getattr(estimator, "weights_sha256", None)
        if digest is None:
            try:
                digest = sha256_of(weights)
            except OSError:
                digest = "unknown"
        return f"the file {str(weights)!r}, sha256 {digest}"
    if entry.url is not None:
        where = entry.url
    elif entry.package is not None:
        where = f"the package {entry.package} ({entry.file_name})"
    else:
        where = "its zoo's loader"
    return f"{entry} from {where}, sha256 {entry.sha256 or 'not recorded'}"


def _recipe(estimator):
    """The parameters that differ from the defaults, and what the fit chose."""
    defaults = {}
    for klass in reversed(type(estimator).__mro__):  # the subclass's last
        init = vars(klass).get("__init__")
        if init is not None:
            for name, parameter in inspect.signature(init).parameters.items():
                defaults[name] = parameter.default
    changed = {}
    for name, value in estimator.get_params(deep=False).items():
        default = defaults.get(name, inspect.Parameter.empty)
        if default is inspect.Parameter.empty:
            default = None  # skorch's ``module``, which the estimators build
        if name != "backbone" and repr(value) != repr(default):
            changed[name] = short(value)
    network = fitted_network(estimator)
    chosen = {"input_size": network.input_size, "frozen_units": network.n_frozen}
    for attribute, key in (
        ("max_epochs_", "epochs"),
        ("n_recalibrated_", "recalibrated_batchnorm_layers"),
        ("layer_", "layer"),
    ):
        if hasattr(estimator, attribute):
            chosen[key] = _safe_json(getattr(estimator, attribute))
    return changed, chosen


def _network_summary(where, estimator, index):
    changed, chosen = _recipe(estimator)
    network = fitted_network(estimator)
    backbone = getattr(estimator, "backbone", None)
    return {
        "where": where,
        "estimator": type(estimator).__name__,
        "backbone": backbone if isinstance(backbone, str) else type(backbone).__name__,
        "pretrained_weights": _pretrained_origin(estimator),
        "parameters": changed,
        "fitted": chosen,
        "classes": _safe_json(_json_labels(getattr(estimator, "classes_", None))),
        "image_shape": list(estimator.image_shape_),
        "n_training_images": getattr(estimator, "n_samples_fit_", None),
        "n_parameters": sum(p.numel() for p in network.state_dict().values()),
        "weights_member": f"weights/{index}.safetensors",
    }


def _targets(model):
    """A regressor's targets: how many, and their mean and standard deviation
    in training (None for a classifier, or when the model does not say)."""
    last = model
    while getattr(last, "steps", None):
        last = last.steps[-1][1]
    mean = getattr(last, "target_mean_", None)
    if mean is None or not is_regressor(last):
        return None
    return {
        "n": int(last.n_outputs_),
        "mean": [float(v) for v in np.ravel(mean)],
        "sd": [float(v) for v in np.ravel(last.target_scale_)],
    }


def _targets_row(targets):
    means = ", ".join(f"{v:.4g}" for v in targets["mean"])
    sds = ", ".join(f"{v:.4g}" for v in targets["sd"])
    return f"{targets['n']} continuous (training mean {means}; SD {sds})"


def describe(model, networks):
    """The summary a model file keeps of ``model`` (JSON data).

    Parameters
    ----------
    model : estimator or pipeline
    networks : list of (str, estimator)
        Where each network is, in the order of the weights members.

    Returns
    -------
    summary : dict
    """
    steps = getattr(model, "steps", None)
    first = model
    while getattr(first, "steps", None):
        first = first.steps[0][1]
    shape = fitted_image_shape(model)
    return {
        "model": type(model).__name__,
        "steps": [[n, type(s).__name__] for n, s in steps] if steps else None,
        "classes": _safe_json(_json_labels(getattr(model, "classes_", None))),
        "targets": _targets(model),
        "image_shape": list(shape) if shape is not None else None,
        "n_training_images": getattr(first, "n_samples_fit_", None),
        "networks": [
            _network_summary(where, estimator, i)
            for i, (where, estimator) in enumerate(networks)
        ],
    }


def named_types(tree):
    """Every type and function the skops.io dump ``tree`` names (sorted)."""
    with zipfile.ZipFile(BytesIO(tree)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("__module__"), str) and isinstance(
                node.get("__class__"), str
            ):
                found.add(f"{node['__module__']}.{node['__class__']}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return sorted(found)


def _megabytes(n):
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


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
        Every type and function the file names.
    untrusted : tuple of str
        Those :func:`~sktransfer.load_model` refuses unless ``trusted``.
    records : tuple, default=()
        Each estimator of this library in the file, its parameters as
        :func:`~sktransfer.load_model` would use them; the parameters shown
        are these, not the summary's.
    """

    path: object
    manifest: dict
    types: tuple
    untrusted: tuple
    records: tuple = ()

    @property
    def summary(self):
        """The summary written when the model was saved (a dict)."""
        return self.manifest.get("summary", {})

    def _parameters(self, network, index):
        """What ``sktransfer inspect`` lists as network ``index``'s parameters:
        those that differ from the defaults in the file's own record."""
        for record in self.records:
            if record.network is not None and record.network["weights"] == index:
                return _pairs(changed_parameters(record)) or "the defaults"
        return _pairs(network.get("parameters") or {}) or "the defaults"

    def _rows(self):
        m, s = self.manifest, self.summary
        members = m.get("members", {})
        size = sum(member["bytes"] for member in members.values())
        rows = [
            ("file", f"{self.path} ({_megabytes(size)}, format {m['format_version']})"),
            (
                "saved",
                f"{m.get('saved')} by sktransfer {m.get('sktransfer_version')} "
                f"(torch {m.get('torch_version')}, Python {m.get('python_version')})",
            ),
        ]
        model = str(s.get("model"))
        if s.get("steps"):
            model += ": " + " -> ".join(f"{n} ({c})" for n, c in s["steps"])
        rows.append(("model", model))
        if s.get("targets"):
            rows.append(("targets", _targets_row(s["targets"])))
        else:
            rows.append(("classes", s.get("classes")))
        rows.append(("image shape", s.get("image_shape")))
        rows.append(("training images", s.get("n_training_images")))
        for i, net in enumerate(s.get("networks") or []):
            member_name = net.get("weights_member", f"weights/{i}.safetensors")
            member = members.get(member_name, {})
            n_parameters = net.get("n_parameters")
            rows += [
                (f"network {i}", f"{net.get('estimator')} ({net.get('where')})"),
                ("  backbone", net.get("backbone")),
                ("  pretrained weights", net.get("pretrained_weights")),
                ("  parameters", self._parameters(net, i)),
                ("  fit chose", _pairs(net.get("fitted") or {})),
                (
                    "  trained on",
                    f"{net.get('n_training_images')} images of "
                    f"{net.get('image_shape')}",
                ),
                (
                    "  weights",
                    f"{member_name}: "
                    + (f"{n_parameters:,} values, " if n_parameters is not None else "")
                    + f"{_megabytes(member.get('bytes', 0))}, "
                    f"sha256 {member.get('sha256')}",
                ),
            ]
        rows.append(("types named", ", ".join(self.types)))
        rows.append(
            (
                "untrusted types",
                ", ".join(self.untrusted)
                + "  (load_model refuses them unless you pass them in `trusted`)"
                if self.untrusted
                else "none (load_model builds it as it is)",
            )
        )
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
        name = escaped(self.path.name if hasattr(self.path, "name") else self.path)
        lines = [
            f"# Model card: {name}",
            "",
            f"A {escaped(self.summary.get('model'))} saved by sktransfer "
            f"{escaped(self.manifest.get('sktransfer_version'))}.",
            "",
            "| | |",
            "|---|---|",
        ]
        for key, value in self._rows()[1:]:
            text = str(value).replace("|", "\\|")
            lines.append(f"| {key.strip()} | {text} |")
        lines += [
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
        return "\n".join(lines)


def _pairs(mapping):
    return ", ".join(f"{k}={v}" for k, v in mapping.items())
