"""Image files as people have them: hidden entries, EXIF orientation, modes,
aspect ratios, flat folders of new images, threads."""

import numpy as np
import pytest
from PIL import Image

from sktransfer.datasets import load_image_folder, load_images


def _save(path, array, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)


def _tall_bar():
    """A 6x4 grey image, white in its top row only."""
    image = np.zeros((6, 4), np.uint8)
    image[0] = 255
    return image


def test_hidden_files_and_folders_are_not_classes_or_images(tmp_path):
    _save(tmp_path / "cat" / "1.png", np.zeros((4, 4), np.uint8))
    _save(tmp_path / "cat" / ".hidden.png", np.zeros((4, 4), np.uint8))
    _save(tmp_path / ".ipynb_checkpoints" / "1.png", np.zeros((4, 4), np.uint8))
    _save(tmp_path / "__MACOSX" / "1.png", np.zeros((4, 4), np.uint8))
    _save(tmp_path / "dog" / "1.png", np.zeros((4, 4), np.uint8))
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tmp_path / "dog" / "Thumbs.db").write_bytes(b"junk")
    X, y, paths = load_image_folder(tmp_path, return_paths=True)
    assert y.tolist() == ["cat", "dog"]
    assert [p.split("/")[-2:] for p in paths] == [["cat", "1.png"], ["dog", "1.png"]]


def test_exif_orientation_turns_phone_photos_upright(tmp_path):
    # Stored sideways (4x6, white column on the left) with EXIF orientation 6
    # ("rotate 90° clockwise to view"): upright it is 6x4 with a white top row.
    stored = np.ascontiguousarray(np.rot90(_tall_bar(), k=1))
    exif = Image.Exif()
    exif[0x0112] = 6
    _save(tmp_path / "a" / "phone.jpg", np.stack([stored] * 3, -1), exif=exif)
    X, _ = load_image_folder(tmp_path)
    assert X.shape == (1, 6, 4, 3)
    assert X[0, 0].mean() > 200 and X[0, -1].mean() < 50


def test_modes_transparency_palette_and_forced_color(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent black
    _save(tmp_path / "a" / "clear.png", rgba)
    palette = Image.fromarray(np.full((4, 4, 3), (200, 0, 0), np.uint8))
    palette = palette.convert("P", palette=Image.Palette.ADAPTIVE)
    palette.save(tmp_path / "a" / "palette.gif")
    (tmp_path / "b").mkdir()
    Image.new("CMYK", (4, 4), (0, 0, 0, 0)).save(tmp_path / "b" / "cmyk.jpg")
    X, y = load_image_folder(tmp_path)
    assert X.shape == (3, 4, 4, 3)
    assert X[2].min() > 240  # CMYK with no ink is white
    assert (X[0] == 255).all()  # transparent pixels are white, not black
    assert X[1, 0, 0].tolist() == [200, 0, 0]
    grey, _ = load_image_folder(tmp_path, color="grey")
    assert grey.shape == (3, 4, 4)


@pytest.mark.parametrize("resize", ["crop", "pad"])
def test_crop_and_pad_keep_the_aspect_ratio(tmp_path, resize):
    wide = np.zeros((4, 8), np.uint8)
    wide[:, :2] = 255  # a white band on the left quarter
    _save(tmp_path / "a" / "wide.png", wide)
    stretched, _ = load_image_folder(tmp_path, image_size=4)
    kept, _ = load_image_folder(tmp_path, image_size=4, resize=resize)
    assert stretched[0, :, 0].min() > 200  # the band is stretched to half
    if resize == "crop":  # centre crop: the left band is cut away
        assert kept[0].max() < 60
    else:  # padded: black rows above and below the 2-row image
        assert kept[0, 0].max() == 0 and kept[0, -1].max() == 0
        assert kept[0, 1:3, 0].min() > 200


def test_threads_read_the_same_images_in_the_same_order(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(40):
        _save(
            tmp_path / f"c{i % 3}" / f"{i:02d}.png",
            rng.integers(0, 256, (5, 5), np.uint8),
        )
    one = load_image_folder(tmp_path, n_jobs=1, return_paths=True)
    many = load_image_folder(tmp_path, n_jobs=4, return_paths=True)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)


def test_load_images_from_a_flat_folder_a_list_or_one_file(tmp_path):
    _save(tmp_path / "b.png", np.full((4, 6), 9, np.uint8))
    _save(tmp_path / "a.jpg", np.full((5, 5), 200, np.uint8))
    (tmp_path / "readme.txt").write_text("not an image")
    _save(tmp_path / ".hidden.png", np.zeros((4, 4), np.uint8))
    X, paths = load_images(tmp_path, image_size=(4, 4))
    assert X.shape == (2, 4, 4)
    assert [p.split("/")[-1] for p in paths] == ["a.jpg", "b.png"]
    X, paths = load_images([tmp_path / "b.png", str(tmp_path / "a.jpg")], image_size=4)
    assert [p.split("/")[-1] for p in paths] == ["b.png", "a.jpg"]
    assert X[0, 0, 0] == 9
    X, paths = load_images(tmp_path / "b.png")
    assert X.shape == (1, 4, 6)
    X, _ = load_images(tmp_path / "b.png", color="rgb")
    assert X.shape == (1, 4, 6, 3)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda root: root / "missing", FileNotFoundError, "does not exist"),
        (lambda root: root, ValueError, "holds no image files"),
        (
            lambda root: (root / "cats").mkdir() or root,
            ValueError,
            "use load_image_folder",
        ),
        (lambda root: [root / "gone.png"], FileNotFoundError, "gone.png"),
        (lambda root: [], ValueError, "empty list"),
        (lambda root: 3, TypeError, "got int"),
    ],
    ids=["missing", "empty", "class-folders", "missing-file", "empty-list", "int"],
)
def test_load_images_errors_name_source(tmp_path, make, error, match):
    with pytest.raises(error, match=match):
        load_images(make(tmp_path))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"resize": "squash"}, "`resize` must be one of"),
        ({"color": "sepia"}, "`color` must be one of"),
        ({"n_jobs": 0}, "`n_jobs` must be None"),
    ],
)
def test_reading_parameters_are_validated(tmp_path, kwargs, match):
    _save(tmp_path / "a" / "1.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match=match):
        load_image_folder(tmp_path, **kwargs)
    with pytest.raises(ValueError, match=match):
        load_images(tmp_path / "a", **kwargs)


def test_a_decompression_bomb_is_refused_with_its_path_and_the_way_out(
    tmp_path, monkeypatch
):
    """Pillow refuses images of more than twice ``MAX_IMAGE_PIXELS``: the
    error names the file and how to read a trusted one."""
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.new("L", (8, 8), 10 * i).save(tmp_path / label / f"{i}.png")
    Image.new("L", (64, 64)).save(tmp_path / "a" / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64*64 > 2 * 1000
    for read in (load_image_folder, load_images):
        source = tmp_path if read is load_image_folder else tmp_path / "a"
        with pytest.raises(ValueError) as error:
            read(source, image_size=(8, 8))
        message = str(error.value)
        assert str(tmp_path / "a" / "huge.png") in message
        assert "decompression bomb" in message
        assert "PIL.Image.MAX_IMAGE_PIXELS = None" in message
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # trusted: it reads
    X, y = load_image_folder(tmp_path, image_size=(8, 8))
    assert len(X) == 5
