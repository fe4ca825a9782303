import numpy as np
import pandas as pd
import pytest
import torch

from sktransfer import ImageShapeWarning, PretrainedCNNClassifier
from sktransfer._inputs._images import check_images, infer_image_shape


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((5, 3, 8, 6), (5, 3, 8, 6)),  # NCHW
        ((5, 8, 6, 3), (5, 3, 8, 6)),  # NHWC: last axis <= 4
        ((5, 8, 6, 1), (5, 1, 8, 6)),
        ((5, 8, 6), (5, 1, 8, 6)),  # grayscale
    ],
)
def test_check_images_layouts(shape, expected):
    X = np.random.default_rng(0).random(shape)
    images = check_images(X)
    assert tuple(images.shape) == expected
    assert images.dtype == torch.float32


def test_nhwc_is_transposed_not_reshaped():
    X = np.arange(2 * 4 * 5 * 3, dtype=np.float32).reshape(2, 4, 5, 3)
    images = check_images(X)
    np.testing.assert_array_equal(images.numpy(), X.transpose(0, 3, 1, 2))


def test_rows_with_image_shape_are_reshaped_channels_first():
    X = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, -1)
    images = check_images(X, image_shape=(3, 4, 5))
    np.testing.assert_array_equal(images.numpy(), X.reshape(2, 3, 4, 5))
    assert tuple(check_images(X[:, :20], image_shape=(4, 5)).shape) == (2, 1, 4, 5)


@pytest.mark.parametrize(
    "n_features, expected", [(64, (1, 8, 8)), (784, (1, 28, 28)), (10, (1, 1, 10))]
)
def test_infer_image_shape(n_features, expected):
    assert infer_image_shape(n_features) == expected


def test_uint8_is_kept_and_other_dtypes_become_float32():
    X = np.zeros((2, 4, 4), dtype=np.uint8)
    assert check_images(X).dtype == torch.uint8
    assert check_images(X.astype(np.float64)).dtype == torch.float32
    assert check_images(X.astype(bool)).dtype == torch.float32
    assert check_images(X.astype(np.int16)).dtype == torch.float32


@pytest.mark.filterwarnings("ignore::sktransfer.ImageShapeWarning")
def test_tensors_dataframes_lists_and_readonly_arrays():
    X = np.random.default_rng(0).random((3, 16)).astype(np.float32)
    np.testing.assert_array_equal(
        check_images(torch.from_numpy(X)).numpy(), X.reshape(3, 1, 4, 4)
    )
    np.testing.assert_array_equal(
        check_images(pd.DataFrame(X)).numpy(), X.reshape(3, 1, 4, 4)
    )
    assert tuple(check_images([x.reshape(4, 4) for x in X]).shape) == (3, 1, 4, 4)
    readonly = X.copy()
    readonly.setflags(write=False)
    assert check_images(readonly[:, ::1]).numpy().flags.writeable


@pytest.mark.parametrize(
    "X, kwargs, error, match",
    [
        (np.full((2, 16), np.nan), {}, ValueError, "NaN or infinity"),
        (np.full((2, 16), np.inf), {}, ValueError, "NaN or infinity"),
        (np.zeros((2, 2, 2, 2, 2)), {}, ValueError, "must be images of shape"),
        (np.zeros(5), {}, ValueError, "Reshape your data"),
        (np.zeros((0, 16)), {}, ValueError, "`X` is empty"),
        (
            np.zeros((2, 12)),
            {"image_shape": (3, 3, 3)},
            ValueError,
            r"`image_shape`=\(3, 3, 3\) holds 27 values but the rows of X have 12",
        ),
        (
            np.zeros((2, 12)),
            {"image_shape": (2, 3, 2, 1)},
            ValueError,
            "`image_shape` must be",
        ),
        (np.zeros((2, 6, 7, 8)), {}, ValueError, "channels cannot be told apart"),
        (np.zeros((2, 4), dtype=complex), {}, ValueError, "Complex data"),
        (np.array([["a", "b"]], dtype=object), {}, ValueError, "real numbers"),
    ],
)
@pytest.mark.filterwarnings("ignore::sktransfer.ImageShapeWarning")
def test_check_images_errors(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_images(X, **kwargs)


def test_expected_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 8, 8\)"):
        check_images(np.zeros((2, 1, 9, 9)), expected_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="X has 81 features, but"):
        check_images(np.zeros((2, 81)), expected_shape=(1, 8, 8))
    # 2-D rows of a 4-D fit are read with the fitted shape
    assert tuple(check_images(np.zeros((2, 48)), expected_shape=(3, 4, 4)).shape) == (
        2,
        3,
        4,
        4,
    )


@pytest.mark.parametrize(
    "n_features, said",
    [
        (64, r"square grayscale image 8x8, i\.e\. image_shape=\(1, 8, 8\)"),
        (60, r"one row of 60 pixels \(1x60\).*image_shape=\(1, 1, 60\)"),
    ],
)
def test_guessing_the_shape_of_rows_warns(n_features, said):
    X = np.zeros((2, n_features), np.float32)
    with pytest.warns(ImageShapeWarning, match=said):
        check_images(X)
    with pytest.warns(ImageShapeWarning, match="pass `image_shape"):
        check_images(pd.DataFrame(X))


def test_rows_of_known_shape_do_not_warn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_images(np.zeros((2, 64)), image_shape=(8, 8))
        check_images(np.zeros((2, 64)), expected_shape=(1, 8, 8))
        check_images(np.zeros((2, 8, 8)))


def test_one_value_a_row_cannot_be_an_image():
    with pytest.raises(ValueError, match=r"1 feature\(s\).*cannot be an image"):
        check_images(np.zeros((5, 1)))


@pytest.mark.parametrize(
    "image, expected_shape",
    [
        (np.zeros((8, 8)), (1, 8, 8)),
        (np.zeros((8, 8, 1)), (1, 8, 8)),
        (np.zeros((6, 5, 3)), (3, 6, 5)),
        (np.zeros((3, 6, 5)), (3, 6, 5)),
    ],
)
def test_one_image_without_the_batch_axis_is_named(image, expected_shape):
    with pytest.raises(
        ValueError, match=r"one image without the batch axis.*X\[None\]"
    ):
        check_images(image, expected_shape=expected_shape, resizable=True)
    assert len(check_images(image[None], expected_shape=expected_shape)) == 1


def test_other_sizes_pass_only_where_the_network_resizes():
    images = np.zeros((2, 1, 9, 7))
    with pytest.raises(ValueError, match="resize the images to the fitted height"):
        check_images(images, expected_shape=(1, 8, 8))
    resized = check_images(images, expected_shape=(1, 8, 8), resizable=True)
    assert tuple(resized.shape) == (2, 1, 9, 7)
    with pytest.raises(ValueError, match="3 channel.s. where it expects 1"):
        check_images(np.zeros((2, 3, 9, 7)), expected_shape=(1, 8, 8), resizable=True)
    with pytest.raises(ValueError, match="X has 49 features"):  # rows: fitted shape
        check_images(np.zeros((2, 49)), expected_shape=(1, 8, 8), resizable=True)


def test_predict_resizes_images_of_another_size_like_fit(digits):
    X, y = digits
    clf = PretrainedCNNClassifier(
        "small_cnn", input_size=16, max_epochs=3, random_state=0
    ).fit(X[:100], y[:100])
    larger = torch.nn.functional.interpolate(
        torch.as_tensor(X[100:140, None]).float() / 255,
        size=(16, 16),
        mode="bilinear",
        align_corners=False,
    )
    # Images already at the input size reach the network as the resized 8x8 do.
    np.testing.assert_allclose(
        clf.predict_proba(larger.numpy()),
        clf.predict_proba(X[100:140]),
        atol=1e-5,
    )
    with pytest.raises(ValueError, match="one image without the batch axis"):
        clf.predict(X[100])
    assert clf.predict(X[100][None]).shape == (1,)


def test_sparse_input_is_refused():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        check_images(scipy_sparse.csr_matrix(np.eye(4)))


def test_floats_off_the_unit_scale_are_never_used_silently():
    import warnings

    from sktransfer import PixelScaleWarning

    rng = np.random.default_rng(0)
    X = rng.integers(0, 17, (4, 1, 8, 8)).astype(np.float64)
    with pytest.warns(PixelScaleWarning, match=r"`X` holds values in \[0, 16\]") as w:
        check_images(X)
    assert "Divide X by its maximum" in str(w[0].message)
    with pytest.warns(PixelScaleWarning, match="integers other than uint8"):
        check_images(X.astype(np.int64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_images(X / 16)
        check_images(X.astype(np.uint8))
        check_images(X, check_scale=False)


def test_predict_on_another_scale_than_fit_warns():
    import warnings

    from sktransfer import CNNFeatureExtractor, PixelScaleWarning
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()  # uint8
    X, y = X[:40], y[:40]
    clf = PretrainedCNNClassifier(
        "small_cnn", input_size=16, max_epochs=1, random_state=0
    ).fit(X / 255, y)
    assert clf.pixel_max_ == pytest.approx(X.max() / 255)
    with pytest.warns(PixelScaleWarning, match="different scales"):
        clf.predict(X.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(X)  # uint8 is on the same scale as X / 255
    with pytest.warns(PixelScaleWarning):
        raw = PretrainedCNNClassifier(
            "small_cnn", input_size=16, max_epochs=1, random_state=0
        ).fit(X.astype(np.float32), y)
    with pytest.warns(PixelScaleWarning, match="different scales"):
        raw.predict(X / 255)
    extractor = CNNFeatureExtractor("small_cnn", input_size=16).fit(X)
    with pytest.warns(PixelScaleWarning, match="different scales"):
        extractor.transform(X.astype(np.float32))
