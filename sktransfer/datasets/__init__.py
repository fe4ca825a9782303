"""Image datasets and source/target splits.

* :func:`load_digits_images` — scikit-learn's bundled 8x8 digits as uint8
  images (always available);
* :func:`load_fashion_mnist` — Fashion-MNIST from its IDX files (the Debian
  package ``dataset-fashion-mnist`` installs them under
  ``/usr/share/datasets/fashion-mnist``);
* :func:`load_image_folder` — a folder of class sub-folders of PNG/JPEG files;
* :func:`load_images` — new images to predict: a flat folder or a list of files;
* :func:`list_image_folder`, :func:`list_images` — the same files as paths,
  not read: ``X`` for the estimators when the images are many or of mixed
  sizes;
* :func:`class_split` — source classes A and target classes B (Yosinski et
  al., Shanmugam et al.);
* :func:`dendrogram_split` — the dendrogram split of Molina et al.;
* :func:`signal_windows` — windows of a multivariate time series as images
  (Brodzicki et al.).
"""

from ._bundled import FASHION_MNIST_CLASSES, load_digits_images, load_fashion_mnist
from ._folder import list_image_folder, list_images, load_image_folder, load_images
from ._signals import signal_windows
from ._splits import class_split, dendrogram_split

__all__ = [
    "FASHION_MNIST_CLASSES",
    "class_split",
    "dendrogram_split",
    "list_image_folder",
    "list_images",
    "load_digits_images",
    "load_fashion_mnist",
    "load_image_folder",
    "load_images",
    "signal_windows",
]
