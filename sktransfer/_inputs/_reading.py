"""Reading image files into uint8 arrays: modes, EXIF orientation, resizing
(stretch, crop or pad), several threads; every file that cannot be read named
in one error."""

from __future__ import annotations

import numbers
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

__all__ = [
    "COLORS",
    "IMAGE_EXTENSIONS",
    "RESIZE_MODES",
    "check_reading_params",
    "is_hidden",
    "read_images",
    "scan_image_files",
]

IMAGE_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
)
RESIZE_MODES = ("stretch", "crop", "pad")
COLORS = ("auto", "grey", "rgb")
PROGRESS_THRESHOLD = 500
# Below this many files one thread reads them all (thread start-up would
# cost more than it saves).
THREADS_THRESHOLD = 32


def is_hidden(path):
    """Hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints``) and
    macOS's ``__MACOSX`` archive folders are not data."""
    return path.name.startswith(".") or path.name == "__MACOSX"


def _check_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if (
        isinstance(image_size, tuple | list)
        and len(image_size) == 2
        and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
            for s in image_size
        )
    ):
        return int(image_size[0]), int(image_size[1])
    raise ValueError(
        "`image_size` must be None, a positive int or a (height, width) pair; "
        f"got {image_size!r}."
    )


def check_reading_params(image_size, resize, color, progress, n_jobs):
    """Validate the reading parameters; return ``image_size`` as a pair."""
    if resize not in RESIZE_MODES:
        raise ValueError(f"`resize` must be one of {RESIZE_MODES}; got {resize!r}.")
    if color not in COLORS:
        raise ValueError(f"`color` must be one of {COLORS}; got {color!r}.")
    if progress not in ("auto", True, False):
        raise ValueError(f"`progress` must be 'auto', True or False; got {progress!r}.")
    if n_jobs is not None and (
        not isinstance(n_jobs, numbers.Integral)
        or isinstance(n_jobs, bool)
        or n_jobs < 1
    ):
        raise ValueError(
            f"`n_jobs` must be None (automatic) or a positive int; got {n_jobs!r}."
        )
    return _check_size(image_size)


def _flatten_alpha(image):
    """Transparent pixels become white, as an image viewer shows them."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba)


def _to_mode(image, color):
    """``image`` as ``L`` (grayscale) or ``RGB``: 16-bit scaled to 8 bits,
    alpha composited on white, palettes and CMYK converted."""
    if image.mode in ("I;16", "I;16B", "I;16L"):
        pixels = np.asarray(image, dtype=np.uint16) // 257
        image = Image.fromarray(pixels.astype(np.uint8), mode="L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )
    grey = image.mode in ("1", "L", "LA", "La", "I", "F")
    if has_alpha:
        image = _flatten_alpha(image)
    if color == "rgb" or (color == "auto" and not grey):
        return image.convert("RGB")
    return image.convert("L")


def _resize(image, image_size, resize):
    size = image_size[::-1]  # PIL sizes are (width, height)
    if image.size == size:
        return image
    method = Image.Resampling.BILINEAR
    if resize == "crop":
        return ImageOps.fit(image, size, method=method)
    if resize == "pad":
        return ImageOps.pad(image, size, method=method, color=0)
    return image.resize(size, method)


def read_image(path, image_size=None, resize="stretch", color="auto"):
    """One image file as a uint8 array ``(H, W)`` or ``(H, W, 3)``, turned
    upright by its EXIF orientation (phone photos). Of an animated GIF, PNG
    or WebP and of a multi-page TIFF, the first frame, with a warning (a
    phone's MPO photo holds its preview as a second frame: no warning)."""
    try:
        with Image.open(path) as image:
            image.load()
            frames = getattr(image, "n_frames", 1)
            if frames > 1 and image.format != "MPO":
                warnings.warn(
                    f"{path} holds {frames} frames (an animated or multi-page "
                    f"{image.format} image); only the first frame is read.",
                    UserWarning,
                    stacklevel=2,
                )
            image = ImageOps.exif_transpose(image)
            image = _to_mode(image, color)
            if image_size is not None:
                image = _resize(image, image_size, resize)
            return np.asarray(image, dtype=np.uint8)
    except Image.DecompressionBombError as error:
        raise ValueError(
            f"Cannot read image {path}: {error} (Pillow's guard against "
            "images that exhaust the memory). If you trust the file, raise the "
            "limit before reading: `PIL.Image.MAX_IMAGE_PIXELS = None` lifts it; "
            "else shrink the image or move it out of the folder."
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValueError(
            f"Cannot read image {path}: {error}. Remove the file or move it out of "
            "the folder."
        ) from error


def _workers(n_files, n_jobs):
    if n_jobs is not None:
        return int(n_jobs)
    if n_files < THREADS_THRESHOLD:
        return 1
    return min(8, os.cpu_count() or 1)


def read_images(
    files, image_size, *, resize, color, progress, n_jobs, where, desc="reading"
):
    """Read ``files`` into one uint8 array ``(n, H, W)`` or ``(n, H, W, 3)``.

    Grayscale images stay one channel unless one of the images has colour
    (``color="auto"``): then all are RGB. ``where`` names the folder in error
    messages. Decoding runs on ``n_jobs`` threads (PIL releases the GIL).
    """

    def read(file):
        try:
            return read_image(file, image_size, resize, color)
        except ValueError as error:  # every broken file is named, not the first
            return error

    images = _map_files(read, files, desc, progress, n_jobs)
    broken = [image for image in images if isinstance(image, ValueError)]
    if len(broken) == 1:
        raise broken[0]
    if broken:
        raise _unreadable(
            list(map(str, broken)), len(files), where, "cannot be read as images"
        )
    shapes = {image.shape[:2] for image in images}
    if len(shapes) > 1:
        sizes = ", ".join(f"{h}x{w}" for h, w in sorted(shapes)[:5])
        raise ValueError(
            f"Images in {where} have different sizes ({sizes}); pass "
            "`image_size` to resize them to one size (with `resize` 'stretch', "
            "'crop' or 'pad')."
        )
    if any(image.ndim == 3 for image in images):
        images = [
            np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image
            for image in images
        ]
    return np.stack(images)


def _map_files(function, files, desc, progress, n_jobs):
    """``[function(file) for file in files]``, in file order, on threads
    (PIL releases the GIL) from 32 files on, with a progress bar from
    ``PROGRESS_THRESHOLD`` files on when ``progress`` is "auto"."""
    show = progress is True or (progress == "auto" and len(files) >= PROGRESS_THRESHOLD)
    workers = _workers(len(files), n_jobs)
    with (
        tqdm(total=len(files), desc=desc, disable=not show) as bar,
        ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as pool,
    ):
        results = []
        for result in (pool.map if pool else map)(function, files):
            results.append(result)
            bar.update()
    return results


def _unreadable(problems, n_files, where, what):
    """The one ``ValueError`` naming every file of ``problems`` (text each)."""
    shown = "\n".join(f"  {problem}" for problem in problems[:20])
    more = f"\n  and {len(problems) - 20} more" if len(problems) > 20 else ""
    return ValueError(
        f"{len(problems)} of the {n_files} files in {where} {what}; nothing was "
        f"done. Remove them or move them out of the folder:\n{shown}{more}"
    )


def _header(file):
    """``((height, width), mode, None)`` read off ``file``'s header (its data
    is not decoded), or ``(None, None, why it does not read)``."""
    try:
        with Image.open(file) as image:
            return image.size[::-1], image.mode, None
    except Image.DecompressionBombError as error:
        return None, None, f"{file}: {error}"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        return None, None, f"{file}: {error}"


def scan_image_files(files, *, where, progress="auto", n_jobs=None):
    """Check that every file of ``files`` opens as an image, reading headers
    only (a fraction of a millisecond a file), before hours of work on them.

    Every file that does not is named, with what is wrong, in one
    ``ValueError``; a file damaged past its header is named when it is read.
    ``where`` names the files in the message.

    Returns
    -------
    headers : list of ((int, int), str)
        The height and width, and the PIL mode, of each file.
    """
    headers = _map_files(_header, files, "checking files", progress, n_jobs)
    problems = [problem for _, _, problem in headers if problem is not None]
    if problems:
        raise _unreadable(
            problems, len(files), where, "are not images that can be read"
        )
    return [(size, mode) for size, mode, _ in headers]
