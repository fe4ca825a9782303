"""The main study: which transfer strategy works on this target, and by how much."""

from __future__ import annotations

import time

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from .._estimators import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
    suggest_strategy,
)
from .._networks import layer_names, resolve_unit_count, unit_position
from ..backbones._registry import get_backbone_spec
from ..baselines import linear_svm_on_pixels
from ..metrics import embedding_cosine_distance
from ._runs import Recorder, as_arrays, split_target
from ._tables import summarise
from ._verdict import study_comparisons

__all__ = ["ADVICE_METHODS", "SOURCE_FIT", "transfer_study"]

SOURCE_FIT = "training the source network"
SVM = "linear SVM on raw pixels"
SCRATCH = "CNN from scratch"
TOP = "top features + linear SVM"
EARLY = "earlier features ({}) + linear SVM"
MULTI = "features of several units + linear SVM"
LRT = "label-relation transfer"
FINE_TUNE = "fine-tune, freeze_upto={}"

# The study rows that put each of Trivedi's scenarios to the test.
ADVICE_METHODS = {
    1: (TOP,),
    2: (FINE_TUNE.format(0),),
    3: ("earlier",),
    4: (FINE_TUNE.format(0),),
}


def trains_network(method):
    """Whether the study's row ``method`` trains a network's body: from
    scratch, fine-tuning and label-relation transfer do; the SVM and feature
    rows fit a linear model, and ``freeze_upto="all"`` a head on the body's
    output computed once (the cost of a forward pass)."""
    if method.startswith(FINE_TUNE.format("")):
        return method != FINE_TUNE.format("all")
    return method in (SCRATCH, LRT)


def n_source_classes(backbone, y_source):
    """The source's outputs that label-relation transfer can assign: the
    source labels, or without source data (``y_source=None``) the
    categories of ``backbone``'s pretrained weights (ImageNet's 1000)."""
    if y_source is not None:
        return len(np.unique(y_source))
    spec = get_backbone_spec(backbone) if isinstance(backbone, str) else None
    return len((spec and spec.categories) or ())


def _features_svm(source, layer, seed, weights="DEFAULT"):
    return make_pipeline(
        CNNFeatureExtractor(source, weights=weights, layer=layer),
        StandardScaler(),
        LinearSVC(C=0.1, random_state=seed),
    )


def transfer_study(
    X_source,
    y_source,
    X_target,
    y_target,
    *,
    backbone="small_cnn",
    weights="DEFAULT",
    freeze_values=(0, "half", "all"),
    n_repeats=5,
    test_size=0.3,
    source_params=None,
    target_params=None,
    label_relation=True,
    from_scratch=True,
    random_state=0,
    callback=None,
    on_start=None,
):
    """Compare transfer strategies on a target task, against their baselines.

    A source network (``backbone`` from ``weights``) is trained once on the
    source data; without source data (``X_source=None``), the pretrained
    ``backbone`` itself is the source (ImageNet for the torchvision and
    Lite0 backbones). Then, for each repeat (seed ``random_state + r``), the target
    set is split into stratified training and test parts and these are fitted
    on the training part and scored on the test part:

    * a linear SVM on raw pixels and, unless ``from_scratch=False``, the
      network trained from scratch (the honest baselines);
    * a linear SVM on the source network's top features, on the features of
      a middle unit (Trivedi's scenarios 1 and 3), and on the pooled features
      of several units side by side (``CNNFeatureExtractor(layer="multi")``);
    * the source network fine-tuned with a new head at each ``freeze_upto``;
    * :class:`~sktransfer.LabelRelationTransfer` from the source network,
      when the target has no more classes than the source.

    The similarity of source and target (cosine of their mean embeddings in
    the source network's top features, Molina et al.) and the target size
    give :func:`~sktransfer.suggest_strategy`'s advice, returned next to the
    measured best.

    Parameters
    ----------
    X_source, y_source : array-like or None
        Source images and labels. None: no source training; ``backbone``
        with its pretrained ``weights`` is the source, and the similarity and
        advice, which need source images, are left out (None).
    X_target, y_target : array-like
        Target images and labels.
    backbone : str or nn.Module, default="small_cnn"
        The source network (any ``backbone`` of
        :class:`~sktransfer.PretrainedCNNClassifier`).
    weights : "DEFAULT", None, str or path, default="DEFAULT"
        Initial weights of the source network (ImageNet for pretrained
        backbones, random for the built-ins).
    freeze_values : iterable, default=(0, "half", "all")
        ``freeze_upto`` values for the fine-tuning rows; ``"half"`` is half
        of the units.
    n_repeats : int, default=5
        Random splits of the target set, each with its own seed. Five is
        where the corrected t-test's interval stops depending on the luck of
        the first splits (on the digits study, at three splits its width
        ranged from half to more than twice the width over ten, at five
        within 12% of it; see the study guide).
    test_size : float, default=0.3
        The test share of each split.
    source_params, target_params : dict, default=None
        Training parameters (``max_epochs``, ``lr``, ``input_size``, ...) of
        the source network and of every target network. The source network
        learns the source task through all its units (``freeze_upto=0``,
        unless ``source_params`` says otherwise), so that its body is the
        source's to transfer.
    label_relation : bool, default=True
        Include the label-relation transfer row.
    from_scratch : bool, default=True
        Include the row of the network trained from scratch (``backbone``
        with random weights), the honest baseline of every transfer, and
        at photo sizes the slowest row (a whole network trained at the
        backbone's own input size).
    random_state : int, default=0
        The seed of the source network and of the first split.
    callback : callable, default=None
        Called with each per-run row, for progress.
    on_start : callable, default=None
        Called with the name of each fit before it starts
        (``SOURCE_FIT``, "training the source network", first), to show
        what is running.

    Returns
    -------
    result : dict
        ``"summary"``: rows ``{method, mean, sd, n_runs, fit_time}``, best
        first; ``"runs"``: every run's row; ``"best"``: the best method;
        ``"against_baseline"``: every other method against the linear SVM on
        pixels and ``"verdicts"``: the best against that SVM and against the
        runner-up, each a difference with its 95% interval and p-value from
        the corrected resampled t-test (:func:`corrected_ttest`; empty with
        one repeat);
        ``"similarity"``; ``"advice"`` (:class:`~sktransfer.Advice`);
        ``"advice_methods"``: the rows that test the advice; ``"defaults"``:
        what the estimators' ``freeze_upto="auto"`` freezes on these images
        (``freeze_upto``, ``image_shape``, ``n_train``, and ``method``, the
        row that measured it, or None); ``"source"``: the
        fitted source network (None without source data); ``"units"``: the
        source body's units; ``"source_fit_time"``: its training, in
        seconds (the table's rows time the target fits); ``"last_run"``:
        ``X_test``, ``y_test`` and the fitted ``models`` and ``predictions``
        of the last repeat.

    References
    ----------
    .. [1] M. A. Molina et al., 2020 (schemes, similarity).
    .. [2] A. Trivedi, 2017 (the four scenarios).
    .. [3] Y. Sawada and K. Kozuka, 2016 (label-relation transfer).
    .. [4] C. Nadeau and Y. Bengio, "Inference for the generalization
       error", Machine Learning 52, 2003 (the corrected resampled t-test).
    """
    target_only = X_source is None and y_source is None
    if not target_only:
        X_source, y_source = as_arrays(X_source, y_source, "source")
    elif weights is None:
        raise ValueError(
            "`weights`=None with no source data (X_source=None): the source "
            "must then be a pretrained backbone; pass weights='DEFAULT' and a "
            "backbone with pretrained weights (e.g. 'efficientnet_lite0')."
        )
    X_target, y_target = as_arrays(X_target, y_target, "target")
    source_params = {"freeze_upto": 0, **(source_params or {})}
    target_params = dict(target_params or {})
    announce = on_start or (lambda method: None)
    source, source_fit_time = None, 0.0
    if target_only:
        # The pretrained network is the source, as the estimators resolve it.
        frozen, source_weights = backbone, weights
        units = layer_names(backbone)[:-1]  # the body: its classifier is replaced
    else:
        announce(SOURCE_FIT)
        start = time.perf_counter()
        source = PretrainedCNNClassifier(
            backbone, weights=weights, random_state=random_state, **source_params
        ).fit(X_source, y_source)
        source_fit_time = time.perf_counter() - start
        units = source.layer_names_
        frozen, source_weights = FrozenEstimator(source), "DEFAULT"
    middle = units[unit_position("half", units, "freeze_values")]
    # "half" as a number of units, for the rows' labels.
    freeze_values = [
        resolve_unit_count(value, units, "freeze_values") if value == "half" else value
        for value in freeze_values
    ]
    n_classes = len(np.unique(y_target))
    use_lrt = label_relation and n_classes <= n_source_classes(backbone, y_source)
    recorder = Recorder(callback)
    last = {}
    for repeat in range(n_repeats):
        seed = random_state + repeat
        X_train, X_test, y_train, y_test = split_target(
            X_target, y_target, test_size, seed
        )
        models = {SVM: linear_svm_on_pixels(seed)}
        if from_scratch:
            models[SCRATCH] = PretrainedCNNClassifier(
                backbone, weights=None, random_state=seed, **target_params
            )
        models[TOP] = _features_svm(frozen, None, seed, source_weights)
        models[EARLY.format(middle)] = _features_svm(
            frozen, middle, seed, source_weights
        )
        models[MULTI] = _features_svm(frozen, "multi", seed, source_weights)
        for value in freeze_values:
            models[FINE_TUNE.format(value)] = PretrainedCNNClassifier(
                frozen,
                weights=source_weights,
                freeze_upto=value,
                random_state=seed,
                **target_params,
            )
        if use_lrt:
            models[LRT] = LabelRelationTransfer(
                frozen, weights=source_weights, random_state=seed, **target_params
            )
        predictions = {}
        for method, model in models.items():
            announce(method)
            predictions[method] = recorder.fit(
                model, X_train, y_train, X_test, y_test, method=method, seed=seed
            )
        last = {
            "X_train": X_train,
            "y_train": y_train,
            "X_test": X_test,
            "y_test": y_test,
            "models": models,
            "predictions": predictions,
            # The defaults on this source, fitted for no epoch by
            # _what_the_defaults_train: what "auto" reads and chooses (no
            # cache of the frozen units' output: nothing trains on it).
            "defaults": PretrainedCNNClassifier(
                frozen,
                weights=source_weights,
                random_state=seed,
                **{
                    **target_params,
                    "max_epochs": 0,
                    "verbose": 0,
                    "cache_frozen": False,
                },
            ),
        }
    summary = sorted(
        summarise(recorder.rows, by=("method",)), key=lambda row: -row["mean"]
    )
    n_test = len(last["y_test"])
    comparisons = study_comparisons(
        recorder.rows, summary, SVM, n_train=len(y_target) - n_test, n_test=n_test
    )
    defaults = _what_the_defaults_train(last, len(y_target) - n_test)
    similarity, advice, advised = None, None, []
    if not target_only:
        extractor = CNNFeatureExtractor(frozen)
        similarity = 1.0 - embedding_cosine_distance(
            X_source, X_target, extractor=extractor
        )
        n_train = len(y_target) - len(last["y_test"])
        advice = suggest_strategy(n_train, float(np.clip(similarity, -1, 1)))
        advised = [
            row["method"]
            for row in summary
            for prefix in ADVICE_METHODS[advice.scenario]
            if row["method"].startswith(prefix)
        ]
        similarity = round(float(similarity), 4)
    return {
        "summary": summary,
        "runs": recorder.rows,
        "best": summary[0]["method"],
        **comparisons,
        "similarity": similarity,
        "advice": advice,
        "advice_methods": advised,
        "defaults": defaults,
        "source": source,
        "units": units,
        "source_fit_time": source_fit_time,
        "last_run": last,
    }


def _what_the_defaults_train(last, n_train):
    """What ``freeze_upto="auto"`` freezes on the target's training images
    of the last repeat (the study's sources are pretrained): the defaults
    fitted for no epoch, which measures the images' shift as any fit of
    them does, and the row that measured the route."""
    if not last:
        return None
    defaults = last["defaults"].fit(last["X_train"], last["y_train"])
    freeze_upto = "all" if defaults.n_frozen_ == len(defaults.layer_names_) else 0
    method = FINE_TUNE.format(freeze_upto)
    return {
        "freeze_upto": freeze_upto,
        "image_shape": tuple(int(v) for v in defaults.image_shape_),
        "n_train": int(n_train),
        "shift": defaults.auto_shift_,
        "method": method if method in last["predictions"] else None,
    }
