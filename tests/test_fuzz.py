"""Input fuzzing of the public estimators with hypothesis.

Every input either works correctly (right shapes, finite probabilities that
sum to one) or is refused with ``ValueError``/``TypeError`` whose message
names the parameter (a back-quoted name such as ```X``` or ```y```); and a
plausible input (an image batch of a real dtype, finite, with labels of at
least two classes) must work: refusing everything would not pass. The fast
tier draws 25 cases per test, the slow tier 150.

    .venv/bin/python -m pytest tests/test_fuzz.py --hypothesis-show-statistics
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.frozen import FrozenEstimator

from sktransfer import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
)

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
# Cases per fuzz test: a quick draw in the fast tier, a long one in the slow.
EXAMPLES = [
    pytest.param(25, id="quick"),
    pytest.param(150, id="long", marks=pytest.mark.slow),
]
NAMED = re.compile(r"`\w+")

DTYPES = st.sampled_from(
    [
        np.bool_,
        np.uint8,
        np.int16,
        np.int64,
        np.float16,
        np.float32,
        np.float64,
        np.complex64,
    ]
)


PLAUSIBLE_SHAPES = st.sampled_from(
    [(16,), (4, 4), (1, 4, 4), (4, 4, 1), (3, 4, 4), (4, 4, 3), (2, 2), (5, 5)]
)


@st.composite
def image_arrays(draw):
    """Half plausible image batches, half anything: rank 0..5, sides 0..6,
    any dtype, NaN/inf included, in five containers/layouts. Returns the
    array and whether it is plausible: a batch of a plausible shape, of a real
    dtype, on the images' scale (floats in [0, 1], integers in [0, 255])."""
    array, plausible_shape = draw(_arrays())
    values = np.asarray(array)
    high = 1.0 if values.dtype.kind == "f" else 255
    plausible = (
        plausible_shape
        and values.dtype.kind in "biuf"
        and bool(np.isfinite(values.astype(np.float64)).all())
        and bool(((values >= 0) & (values <= high)).all())
    )
    return array, plausible


def channels(shape):
    """The channels the estimators read in images of ``shape`` (the
    documented rule: a last axis of at most 4 entries holds the channels)."""
    if len(shape) == 4:
        return shape[-1] if shape[-1] <= 4 else shape[1]
    return 1


@st.composite
def _arrays(draw):
    dtype = np.dtype(draw(DTYPES))
    plausible = draw(st.booleans())
    if plausible:
        shape = (draw(st.integers(1, 8)), *draw(PLAUSIBLE_SHAPES))
    else:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=6))
    elements = None
    if dtype.kind == "f":
        elements = st.floats(
            allow_nan=True, allow_infinity=True, width=dtype.itemsize * 8
        ) | st.floats(0, 1, width=dtype.itemsize * 8)
    array = draw(hnp.arrays(dtype, shape, elements=elements))
    layout = draw(st.sampled_from(["plain", "read-only", "strided", "list", "frame"]))
    if layout == "read-only":
        array.flags.writeable = False
    elif layout == "strided" and array.ndim >= 1:
        array = np.repeat(array, 2, axis=-1)[..., ::2]
    elif layout == "list" and array.ndim >= 1:
        return [a for a in array], plausible
    elif layout == "frame" and array.ndim == 2:
        return pd.DataFrame(array), plausible
    return array, plausible


@st.composite
def labels_for(draw, n):
    """Labels for ``n`` images, and whether they are valid (at least two
    classes of ints, strings or integral floats, one per image)."""
    kind = draw(st.sampled_from(["int", "str", "float", "wrong-length", "one-class"]))
    if kind == "wrong-length":
        return np.arange(n + 1) % 2, False
    if kind == "one-class":
        return np.zeros(n, int), False
    values = np.arange(n) % draw(st.integers(2, 3))
    if kind == "str":
        return np.array(["cat", "dog", "owl"])[values], n >= 2
    if kind == "float":
        shift = draw(st.sampled_from([0.0, 0.5]))
        return values.astype(float) + shift, n >= 2 and shift == 0.0
    return values, n >= 2


def _refused_clearly(error):
    assert isinstance(error, ValueError | TypeError), repr(error)
    assert NAMED.search(str(error)), f"no parameter named in: {error}"


def _check_proba(proba, n, n_classes):
    assert proba.shape == (n, n_classes)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-4)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.random((30, 16)).astype(np.float32)
    y = np.arange(30) % 3
    clf = PretrainedCNNClassifier("mlp", input_size=4, max_epochs=1).fit(X, y)
    lrt = LabelRelationTransfer(FrozenEstimator(clf), max_epochs=1).fit(X, y)
    extractor = CNNFeatureExtractor("mlp", input_size=4).fit(X)
    return {"classifier": clf, "lrt": lrt, "extractor": extractor}


def _refused_or_worked(run, plausible):
    """Run ``run``; a refusal must name the parameter, and a plausible input
    must not be refused."""
    try:
        run()
    except (ValueError, TypeError) as error:
        _refused_clearly(error)
        assert not plausible, f"a plausible input was refused: {error}"


@pytest.mark.parametrize("examples", EXAMPLES)
def test_fit_on_any_input(examples):
    @settings(FUZZ, max_examples=examples)
    @given(data=st.data())
    def fit_any(data):
        X, plausible = data.draw(image_arrays())
        n = len(X) if hasattr(X, "__len__") and np.ndim(X) > 0 else 1
        y, valid_labels = data.draw(labels_for(n))
        estimator = data.draw(st.sampled_from(["classifier", "extractor"]))

        def run():
            if estimator == "classifier":
                model = PretrainedCNNClassifier("mlp", input_size=4, max_epochs=1)
                model.fit(X, y)
                _check_proba(model.predict_proba(X), n, len(np.unique(y)))
                assert set(model.predict(X)) <= set(np.unique(y))
            else:
                model = CNNFeatureExtractor("mlp", input_size=4).fit(X)
                features = model.transform(X)
                assert features.shape == (n, 500) and np.isfinite(features).all()

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # scale, shape guesses
            _refused_or_worked(
                run, plausible and (estimator == "extractor" or valid_labels)
            )

    fit_any()


@pytest.mark.parametrize("examples", EXAMPLES)
def test_predict_and_transform_on_any_input(fitted, examples):
    @settings(FUZZ, max_examples=examples)
    @given(data=st.data())
    def predict_any(data):
        X, plausible = data.draw(image_arrays())
        name = data.draw(st.sampled_from(["classifier", "lrt", "extractor"]))
        model = fitted[name]
        # The models were fitted on rows of 16 values (4x4 grey images):
        # plausible here means images the fitted models can take.
        shape = np.shape(np.asarray(X))
        plausible = (
            plausible and (len(shape) != 2 or shape[1] == 16) and channels(shape) == 1
        )

        def run():
            if name == "extractor":
                out = model.transform(X)
                assert out.shape[1] == 500
            else:
                proba = model.predict_proba(X)
                _check_proba(proba, len(proba), 3)
                assert len(model.predict(X)) == len(proba)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            _refused_or_worked(run, plausible)

    predict_any()


@pytest.mark.parametrize(
    "X",
    [
        np.zeros((0, 16)),
        np.zeros((3, 0)),
        np.full((3, 16), np.nan),
        np.full((3, 16), np.inf),
        np.zeros((3, 16), np.complex64),
        np.array([["a"] * 16] * 3, dtype=object),
        np.zeros(16),
        np.zeros((2, 2, 2, 2, 2, 2)),
        [np.zeros((4, 4)), np.zeros((5, 5))],
    ],
    ids=[
        "empty",
        "no-features",
        "nan",
        "inf",
        "complex",
        "strings",
        "1-D",
        "6-D",
        "ragged-list",
    ],
)
def test_named_errors_for_bad_images(fitted, X):
    for model in fitted.values():
        method = model.transform if hasattr(model, "transform") else model.predict
        with pytest.raises((ValueError, TypeError), match="`X`"):
            method(X)


def test_single_sample_and_one_sample_classes(fitted):
    rng = np.random.default_rng(1)
    X = rng.random((7, 16)).astype(np.float32)
    assert fitted["classifier"].predict(X[:1]).shape == (1,)
    with pytest.raises(ValueError, match="`y` has only one class"):
        PretrainedCNNClassifier("mlp", input_size=4, max_epochs=1).fit(X[:1], [0])
    y = np.array([0, 0, 0, 0, 0, 0, 1])  # class 1 has one image
    clf = PretrainedCNNClassifier("mlp", input_size=4, max_epochs=1).fit(X, y)
    _check_proba(clf.predict_proba(X), 7, 2)


def test_smote_with_a_one_sample_class_needs_fewer_neighbours():
    """SMOTE's k_neighbors must be below the minority count: a clear error."""
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from imblearn.pipeline import make_pipeline

    rng = np.random.default_rng(2)
    X = rng.random((12, 16)).astype(np.float32)
    y = np.array([0] * 10 + [1] * 2)
    cnn = PretrainedCNNClassifier("mlp", image_shape=(4, 4), input_size=4, max_epochs=1)
    with pytest.raises(ValueError, match="n_neighbors|k_neighbors"):
        make_pipeline(SMOTE(), cnn).fit(X, y)
    make_pipeline(SMOTE(k_neighbors=1), cnn).fit(X, y)
    make_pipeline(RandomOverSampler(random_state=0), cnn).fit(X, y)
