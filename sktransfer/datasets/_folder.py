"""Image files as arrays: a folder of class sub-folders (training data) and
a flat folder or list of files (new images to predict)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._inputs import IMAGE_EXTENSIONS, check_reading_params, is_hidden, read_images

__all__ = [
    "IMAGE_EXTENSIONS",
    "list_image_folder",
    "list_images",
    "load_image_folder",
    "load_images",
]


def _image_files(folder):
    """The image files directly in ``folder``, sorted, hidden ones skipped."""
    return sorted(
        f
        for f in folder.iterdir()
        if f.is_file() and not is_hidden(f) and f.suffix.lower() in IMAGE_EXTENSIONS
    )


def _list_files(root):
    if not root.is_dir():
        raise NotADirectoryError(
            f"`path` must be a folder with one sub-folder per class; {root} "
            f"{'is not a folder' if root.exists() else 'does not exist'}."
        )
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not is_hidden(p))
    if not classes:
        raise ValueError(
            f"`path` {root} has no class sub-folders; expected e.g. "
            f"{root / 'class_a' / 'image1.png'}. For a flat folder of images "
            "without labels, use load_images."
        )
    files = []
    for folder in classes:
        members = _image_files(folder)
        if not members:
            raise ValueError(
                f"Class folder {folder} holds no images (expected files ending "
                f"in {', '.join(IMAGE_EXTENSIONS)})."
            )
        files.extend((f, folder.name) for f in members)
    return files


_READING_PARAMETERS = """image_size : int, (height, width) or None, default=None
        Resize every image (bilinear). None requires all images to have the
        same size.
    resize : {"stretch", "crop", "pad"}, default="stretch"
        How an image of another aspect ratio reaches ``image_size``:
        stretched, centre-cropped to the aspect ratio then resized, or resized
        to fit and padded with black; "crop" and "pad" keep the aspect ratio.
    color : {"auto", "grey", "rgb"}, default="auto"
        ``"auto"``: grayscale images stay one channel unless any image has
        colour, then all are RGB. ``"grey"`` or ``"rgb"`` force one or three
        channels (read new images with the ``color`` of the training images).
    progress : "auto" or bool, default="auto"
        Show a progress bar; ``"auto"`` shows one from 500 images on.
    n_jobs : int or None, default=None
        Threads that decode images; None uses up to 8 from 32 files on."""


def load_image_folder(
    path,
    image_size=None,
    *,
    resize="stretch",
    color="auto",
    progress="auto",
    n_jobs=None,
    return_paths=False,
):
    """Images from a folder with one sub-folder per class.

    ``path/<class name>/<image>.png`` (or JPEG, BMP, GIF, TIFF, WebP), as
    torchvision's ``ImageFolder`` lays them out. Hidden files and folders
    (``.DS_Store``, ``.ipynb_checkpoints``), ``__MACOSX`` and files of other
    types are skipped. Every image is turned upright by its EXIF orientation
    (phone photos); transparency becomes white; palette, CMYK and 1-bit images
    are converted; 16-bit images (CT, microscopy) are scaled to 8 bits.

    Parameters
    ----------
    path : str or path
        The folder of class sub-folders; the sub-folder names are the labels.
    {reading}
    return_paths : bool, default=False
        Also return the path of each image (for error analysis).

    Returns
    -------
    X : ndarray of shape (n, H, W) or (n, H, W, 3), dtype uint8
    y : ndarray of shape (n,)
        The class folder names.
    paths : ndarray of shape (n,), dtype object
        Only with ``return_paths=True``: the file of each image, as a string.

    Raises
    ------
    NotADirectoryError
        When ``path`` is not a folder.
    ValueError
        When there are no class folders, a class folder has no images, a file
        cannot be read as an image, or sizes differ and ``image_size`` is None.

    See Also
    --------
    load_images : New images without labels, to predict.

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
    image_size = check_reading_params(image_size, resize, color, progress, n_jobs)
    files = _list_files(Path(path))
    X = read_images(
        [file for file, _ in files],
        image_size,
        resize=resize,
        color=color,
        progress=progress,
        n_jobs=n_jobs,
        where=path,
    )
    y = np.array([label for _, label in files])
    if return_paths:
        return X, y, np.array([str(file) for file, _ in files], dtype=object)
    return X, y


def _files_to_predict(source):
    if isinstance(source, str | Path):
        root = Path(source)
        if root.is_file():
            return [root], root
        if not root.is_dir():
            raise FileNotFoundError(
                f"`source` must be a folder of images, an image file or a list of "
                f"image files; {root} does not exist."
            )
        files = _image_files(root)
        if not files:
            classes = [p for p in root.iterdir() if p.is_dir() and not is_hidden(p)]
            hint = (
                " It has sub-folders: for labelled class folders use "
                "load_image_folder, or pass one sub-folder."
                if classes
                else ""
            )
            raise ValueError(
                f"`source` {root} holds no image files (files ending in "
                f"{', '.join(IMAGE_EXTENSIONS)}).{hint}"
            )
        return files, root
    try:
        files = [Path(f) for f in source]
    except TypeError as error:
        raise TypeError(
            "`source` must be a folder, an image file or a list of image files; "
            f"got {type(source).__name__}."
        ) from error
    if not files:
        raise ValueError("`source` is an empty list; pass at least one image file.")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f"`source` lists files that do not exist: {missing[:5]}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            + "."
        )
    return files, "the listed files"


def load_images(
    source,
    image_size=None,
    *,
    resize="stretch",
    color="auto",
    progress="auto",
    n_jobs=None,
):
    """New images without labels, from a flat folder or a list of files.

    Read like :func:`load_image_folder` reads training images (EXIF
    orientation, modes, hidden and non-image files skipped), so that the
    result goes straight into ``predict``. Networks with an ``input_size``
    (every built-in backbone) resize images of another size themselves; the
    images of one call need one size, which ``image_size`` gives.

    Parameters
    ----------
    source : str, path or list of them
        A folder whose image files (not sub-folders) are read in name order,
        one image file, or a list of image files (read in that order).
    {reading}

    Returns
    -------
    X : ndarray of shape (n, H, W) or (n, H, W, 3), dtype uint8
    paths : ndarray of shape (n,), dtype object
        The file of each image, as a string, in the order of ``X``.

    Raises
    ------
    FileNotFoundError
        When ``source`` or a listed file does not exist.
    ValueError
        When there are no image files, a file cannot be read as an image, or
        sizes differ and ``image_size`` is None.

    See Also
    --------
    load_image_folder : Labelled images in class sub-folders.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from PIL import Image
    >>> from sktransfer.datasets import load_images
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> Image.fromarray(np.zeros((5, 7), np.uint8)).save(root / "new1.png")
    >>> Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(root / "new2.jpg")
    >>> X, paths = load_images(root, image_size=(8, 8))
    >>> X.shape, [pathlib.Path(p).name for p in paths]
    ((2, 8, 8, 3), ['new1.png', 'new2.jpg'])
    """
    image_size = check_reading_params(image_size, resize, color, progress, n_jobs)
    files, where = _files_to_predict(source)
    X = read_images(
        files,
        image_size,
        resize=resize,
        color=color,
        progress=progress,
        n_jobs=n_jobs,
        where=where,
    )
    return X, np.array([str(file) for file in files], dtype=object)


def list_image_folder(path):
    """The image files of a folder with one sub-folder per class, and their
    labels, without reading any image.

    The files :func:`load_image_folder` reads, in its order: for a folder too
    large to hold decoded in memory, or of images of mixed sizes. The
    estimators take the paths as ``X`` (``fit``, ``predict``, ``transform``,
    in a ``Pipeline`` or a search) and read them with the library's reader.

    Parameters
    ----------
    path : str or path
        The folder of class sub-folders; the sub-folder names are the labels.

    Returns
    -------
    paths : ndarray of shape (n,), dtype object
        The file of each image, as a string.
    y : ndarray of shape (n,)
        The class folder names.

    Raises
    ------
    NotADirectoryError
        When ``path`` is not a folder.
    ValueError
        When there are no class folders, or a class folder has no images.

    See Also
    --------
    load_image_folder : The same images, decoded into one array.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from PIL import Image
    >>> from sktransfer.datasets import list_image_folder
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for label in ("benign", "malignant"):
    ...     (root / label).mkdir()
    ...     Image.fromarray(np.zeros((5, 7), np.uint8)).save(root / label / "a.png")
    >>> paths, y = list_image_folder(root)
    >>> [pathlib.Path(p).parent.name for p in paths], y.tolist()
    (['benign', 'malignant'], ['benign', 'malignant'])
    """
    files = _list_files(Path(path))
    paths = np.array([str(file) for file, _ in files], dtype=object)
    return paths, np.array([label for _, label in files])


def list_images(source):
    """The image files :func:`load_images` would read, without reading them.

    Parameters
    ----------
    source : str, path or list of them
        A folder whose image files (not sub-folders) are taken in name order,
        one image file, or a list of image files (kept in that order).

    Returns
    -------
    paths : ndarray of shape (n,), dtype object
        Each file, as a string: ``X`` for ``predict``.

    Raises
    ------
    FileNotFoundError
        When ``source`` or a listed file does not exist.
    ValueError
        When there are no image files.

    See Also
    --------
    list_image_folder : Labelled image files in class sub-folders.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from PIL import Image
    >>> from sktransfer.datasets import list_images
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> Image.fromarray(np.zeros((5, 7), np.uint8)).save(root / "new1.png")
    >>> [pathlib.Path(p).name for p in list_images(root)]
    ['new1.png']
    """
    files, _ = _files_to_predict(source)
    return np.array([str(file) for file in files], dtype=object)


for _function in (load_image_folder, load_images):
    if _function.__doc__:  # None under python -OO
        _function.__doc__ = _function.__doc__.replace("{reading}", _READING_PARAMETERS)
