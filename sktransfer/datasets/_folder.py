"""A folder of class sub-folders of images, read into one uint8 array."""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np

__all__ = ["IMAGE_EXTENSIONS", "load_image_folder"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
PROGRESS_THRESHOLD = 500


def _check_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if (
        isinstance(image_size, tuple | list)
        and len(image_size) == 2
        and all(isinstance(s, numbers.Integral) and s > 0 for s in image_size)
    ):
        return int(image_size[0]), int(image_size[1])
    raise ValueError(
        "`image_size` must be None, a positive int or a (height, width) pair; "
        f"got {image_size!r}."
    )


def _list_files(root):
    if not root.is_dir():
        raise NotADirectoryError(
            f"`path` must be a folder with one sub-folder per class; {root} "
            f"{'is not a folder' if root.exists() else 'does not exist'}."
        )
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(
            f"`path` {root} has no class sub-folders; expected e.g. "
            f"{root / 'class_a' / 'image1.png'}."
        )
    files = []
    for folder in classes:
        members = sorted(
            f
            for f in folder.iterdir()
            if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not members:
            raise ValueError(
                f"Class folder {folder} holds no images (expected files ending "
                f"in {', '.join(IMAGE_EXTENSIONS)})."
            )
        files.extend((f, folder.name) for f in members)
    return files


def _read(path, image_size):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L"):
                pixels = np.asarray(image, dtype=np.uint16) // 257
                image = Image.fromarray(pixels.astype(np.uint8), mode="L")
            elif image.mode not in ("L", "RGB"):
                grey = image.mode in ("1", "I", "F", "LA")
                image = image.convert("L" if grey else "RGB")
            if image_size is not None and image.size != image_size[::-1]:
                image = image.resize(image_size[::-1], Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"Cannot read image {path}: {error}") from error


def load_image_folder(path, image_size=None, *, progress="auto"):
    """Images from a folder with one sub-folder per class.

    ``path/<class name>/<image>.png`` (or JPEG, BMP, TIFF), as torchvision's
    ``ImageFolder`` lays them out. Grayscale images stay one channel; when any
    image has colour, all are read as RGB. 16-bit images (CT, microscopy) are
    scaled to 8 bits.

    Parameters
    ----------
    path : str or path
        The folder of class sub-folders; the sub-folder names are the labels.
    image_size : int, (height, width) or None, default=None
        Resize every image (bilinear). None requires all images to have the
        same size.
    progress : "auto" or bool, default="auto"
        Show a progress bar; ``"auto"`` shows one from 500 images on.

    Returns
    -------
    X : ndarray of shape (n, H, W) or (n, H, W, 3), dtype uint8
    y : ndarray of shape (n,)
        The class folder names.

    Raises
    ------
    NotADirectoryError
        When ``path`` is not a folder.
    ValueError
        When there are no class folders, a class folder has no images, a file
        cannot be read as an image, or sizes differ and ``image_size`` is None.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from PIL import Image
    >>> from sktransfer.datasets import load_image_folder
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for label in ("benign", "malignant"):
    ...     (root / label).mkdir()
    ...     Image.fromarray(np.zeros((5, 7), np.uint8)).save(root / label / "a.png")
    >>> X, y = load_image_folder(root)
    >>> X.shape, y.tolist()
    ((2, 5, 7), ['benign', 'malignant'])
    """
    from tqdm.auto import tqdm

    image_size = _check_size(image_size)
    if progress not in ("auto", True, False):
        raise ValueError(f"`progress` must be 'auto', True or False; got {progress!r}.")
    files = _list_files(Path(path))
    show = progress is True or (progress == "auto" and len(files) >= PROGRESS_THRESHOLD)
    images, labels = [], []
    for file, label in tqdm(files, desc="reading images", disable=not show):
        images.append(_read(file, image_size))
        labels.append(label)
    shapes = {image.shape[:2] for image in images}
    if len(shapes) > 1:
        sizes = ", ".join(f"{h}x{w}" for h, w in sorted(shapes)[:5])
        raise ValueError(
            f"Images in {path} have different sizes ({sizes}); pass "
            "`image_size` to resize them to one size."
        )
    if any(image.ndim == 3 for image in images):
        images = [
            np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image
            for image in images
        ]
    return np.stack(images), np.array(labels)
