"""The source and target sets the arguments of ``sktransfer study`` name: a
bundled dataset split by class or by a dendrogram of its classes, or image
folders, each cut to a number of images per class (a folder's files are
listed and cut before any is read: a folder of any size costs the images
the study uses)."""

from __future__ import annotations

import numpy as np

from .._estimators import CNNFeatureExtractor
from ..datasets import (
    FASHION_MNIST_CLASSES,
    class_split,
    dendrogram_split,
    list_image_folder,
    load_digits_images,
    load_fashion_mnist,
    load_images,
)

__all__ = ["load_study_data", "parse_labels"]


def parse_labels(values):
    """Command-line labels: ints where they are ints."""
    return [int(v) if v.lstrip("-").isdigit() else v for v in values]


def _per_class(X, y, limit, seed):
    if limit is None:
        return X, y
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [rng.permutation(np.flatnonzero(y == label))[:limit] for label in np.unique(y)]
    )
    keep.sort()
    return X[keep], y[keep]


def _folder(path, limit, args):
    """The images of a class folder, at most ``limit`` a class: the files
    are listed, cut, and only the chosen ones read."""
    paths, y = list_image_folder(path)
    paths, y = _per_class(paths, y, limit, args.seed)
    X, _ = load_images(paths.tolist(), image_size=args.image_size)
    return X, y


def load_study_data(args):
    """Source and target sets the arguments ask for, with a description."""
    if args.source is not None and args.target is None:
        raise SystemExit(
            "sktransfer study: --source DIR needs --target DIR (the data to "
            "classify); --target DIR alone uses an ImageNet backbone as the source."
        )
    if args.target is not None:  # image folders, the source's first
        X_s = y_s = None
        description = (
            f"image folder {args.target}, with the ImageNet-pretrained "
            f"{args.backbone} as the source"
        )
        if args.source is not None:
            X_s, y_s = _folder(args.source, args.source_per_class, args)
            description = f"image folders {args.source} -> {args.target}"
        X_t, y_t = _folder(args.target, args.per_class, args)
        return X_s, y_s, X_t, y_t, description
    else:
        if args.dataset == "digits":
            X, y = load_digits_images()
        else:
            X, y = load_fashion_mnist(args.data_home)
            y = np.array(FASHION_MNIST_CLASSES)[y]  # names read better in plots
        if args.split == "dendrogram":
            embedding = None
            if args.split_embedding != "pixels":
                embedding = CNNFeatureExtractor(
                    args.split_embedding,
                    input_size=args.input_size,
                    random_state=args.seed,
                )
            X_s, y_s, X_t, y_t = dendrogram_split(X, y, embedding=embedding)
            how = (
                f"dendrogram split on {args.split_embedding} embeddings (larger "
                "node of each label -> source)"
            )
        else:
            labels = np.unique(y)
            source = (
                parse_labels(args.source_classes)
                if args.source_classes
                else labels[: len(labels) // 2].tolist()
            )
            if args.dataset == "fashion-mnist":  # class indices or names
                source = [
                    FASHION_MNIST_CLASSES[v] if isinstance(v, int) else v
                    for v in source
                ]
            X_s, y_s, X_t, y_t = class_split(X, y, source)
            how = f"classes {source} -> the rest"
        description = f"{args.dataset}, {how}"
    X_s, y_s = _per_class(X_s, y_s, args.source_per_class, args.seed)
    X_t, y_t = _per_class(X_t, y_t, args.per_class, args.seed)
    return X_s, y_s, X_t, y_t, description
