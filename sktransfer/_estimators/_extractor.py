"""CNNFeatureExtractor: images in, embeddings of a chosen unit out."""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._inputs import (
    check_fitted_images,
    check_images,
    fitted_image_shape,
    path_chunks,
    remember_images,
)
from .._networks import (
    build_network,
    load_source,
    multi_layers,
    unit_position,
    unit_shapes,
)
from .._runtime import batched_inference, require_finite, resolve_device, seeded
from .._training import explain_input_size
from ._freezing import input_side
from ._parameters import BACKBONE, RECIPE, SKORCH, SOURCE

__all__ = ["CNNFeatureExtractor"]


class CNNFeatureExtractor(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Embeddings of a pretrained CNN as a scikit-learn transformer.

    The fixed-feature route of transfer learning (Trivedi's first scenario,
    Molina et al.'s image embeddings): the pretrained body runs once per
    image and a linear model (``LinearSVC``, ``LogisticRegression``) learns on
    the features, with ``SMOTE`` in between when classes are skewed.

    ``fit`` depends on the shape of ``X`` only, never on its values or on
    ``y``, so ``Pipeline(memory=...)`` reuses the features across grid points.

    Parameters
    ----------
    backbone : str, nn.Module or fitted estimator, default="efficientnet_lite0"
        As in :class:`~sktransfer.PretrainedCNNClassifier`.
    weights : "DEFAULT", None, str or path, default="DEFAULT"
        As in :class:`~sktransfer.PretrainedCNNClassifier`.
    weights_sha256 : str or None, default=None
        The SHA-256 (hex, or a prefix of at least 8 digits) the ``weights``
        file must have; checked before the file is read.
    layer : str, int, list or None, default=None
        The unit whose output is the embedding: a name of ``layer_names_``,
        its index, or ``"half"`` (the last unit of the first half, the unit
        ``freeze_upto="half"`` freezes up to). None: the penultimate features
        (all body units and global pooling, what the source classifier
        sees). A list of units: the pooled outputs of each, side by side (in
        forward order); on small data far from ImageNet, earlier units carry
        what the top lacks (``benchmarks/small_data.py``, row ``multi``).
        ``"multi"``: the last unit at each of the last four resolutions the
        feature maps pass through (ResNet's ``layer1`` to ``layer4``,
        EfficientNet-Lite0's ``stage2``, ``stage3``, ``stage5`` and
        ``head_conv``); ``layer_`` names the units a fit took.
    pooling : {"avg", "max", "flatten"}, default="avg"
        How a feature map ``(C, H, W)`` becomes a vector: global average,
        global max, or all values.
    input_size : int or None, default=None
        Resize side; None takes the side the backbone's weights were trained
        at (224 px for ImageNet's), whatever the images' size, as a frozen
        body of :class:`~sktransfer.PretrainedCNNClassifier` does; a backbone
        without weights takes small images (under 96 px) at 64 px.
    image_shape : tuple or None, default=None
        ``(C, H, W)`` of 2-D row input.
    batch_size : int, default=64
        Images per forward pass.
    device : str or torch.device, default="auto"
        ``"auto"``: CUDA when present, else CPU.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        ``"auto"``: bf16 autocast on CUDA, float32 on CPU.
    random_state : int, RandomState or None, default=None
        Seeds the initialisation of networks without pretrained weights
        (``weights=None`` or the built-ins), so that refits give the same
        features.

    Attributes
    ----------
    layer_names_ : list of str
        The body units available as ``layer``.
    layer_ : str or list of str
        The unit the features come from (``"pool"`` for the default), or the
        units, in forward order; ``get_feature_names_out`` names the
        features ``<unit>_<i>`` then.
    network_ : TransferNetwork
        The body up to ``layer_``.
    n_features_in_ : int
        ``C * H * W`` of the images seen in ``fit``.
    image_shape_ : tuple
        ``(C, H, W)`` of the images seen in ``fit``.
    input_size_ : int or None
        The side the network takes images at.
    n_samples_fit_ : int
        Number of images seen in ``fit``.
    pixel_max_ : float
        The largest pixel value of those images on the [0, 1] scale; images
        on another scale in ``transform`` are named in a warning.
    n_features_out_ : int
        Length of the embeddings.

    See Also
    --------
    sktransfer.PretrainedCNNClassifier : ``freeze_upto="all"`` trains a head on
        the same features end to end.

    References
    ----------
    .. [1] A. Trivedi, "Deep learning part 2: transfer learning and
       fine-tuning deep convolutional neural networks", 2016.
    .. [2] M. A. Molina et al., "A preliminary study on deep transfer learning
       applied to image classification for small datasets", 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import CNNFeatureExtractor
    >>> X = np.random.default_rng(0).random((4, 3, 32, 32), dtype=np.float32)
    >>> extractor = CNNFeatureExtractor("resnet18", weights=None, input_size=32)
    >>> extractor.fit_transform(X).shape
    (4, 512)
    >>> extractor.set_params(layer="layer2").fit_transform(X).shape
    (4, 128)
    """

    _parameter_constraints = {
        "backbone": BACKBONE,
        **SOURCE,
        "layer": [
            None,
            str,
            Interval(numbers.Integral, None, None, closed="neither"),
            list,
            tuple,
        ],
        "pooling": [StrOptions({"avg", "max", "flatten"})],
        **{name: RECIPE[name] for name in ("input_size", "image_shape")},
        "batch_size": SKORCH["batch_size"],
        "device": SKORCH["device"],
        "precision": RECIPE["precision"],
        "random_state": RECIPE["random_state"],
    }

    def __init__(
        self,
        backbone="efficientnet_lite0",
        *,
        weights="DEFAULT",
        weights_sha256=None,
        layer=None,
        pooling="avg",
        input_size=None,
        image_shape=None,
        batch_size=64,
        device="auto",
        precision="auto",
        random_state=None,
    ):
        self.backbone = backbone
        self.weights = weights
        self.weights_sha256 = weights_sha256
        self.layer = layer
        self.pooling = pooling
        self.input_size = input_size
        self.image_shape = image_shape
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.random_state = random_state

    def _layers(self, names, source):
        """``layer_``: ``"pool"``, a unit's name, or the names of several
        units in forward order."""
        layer = self.layer
        if layer is None:
            return "pool"
        if isinstance(layer, str) and layer == "multi" and layer not in names:
            shapes = unit_shapes(build_network(source), self.image_shape_)
            return [names[i] for i in multi_layers(shapes)]
        if isinstance(layer, list | tuple):
            if not layer:
                raise ValueError("`layer` is an empty list; name one unit or more.")
            positions = sorted({unit_position(v, names, "layer") for v in layer})
            return [names[position] for position in positions]
        return names[unit_position(layer, names, "layer")]

    def fit(self, X, y=None):
        """Build the network for the shape of ``X`` (its values are not used).

        Parameters
        ----------
        X : array-like, tensor or 1-D array of paths
            Images in any layout the estimators take, or image files.
        y : None
            Ignored.

        Returns
        -------
        self : CNNFeatureExtractor
        """
        self._validate_params()
        images = check_images(X, self.image_shape, estimator_name=type(self).__name__)
        remember_images(self, images)
        self._build_network(fitting=True)
        with explain_input_size(self.network_.input_size, self.backbone):
            self.n_features_out_ = self._embed(images[:1]).shape[1]
        return self

    def get_feature_names_out(self, input_features=None):
        """Names of the features: ``cnnfeatureextractor0``, ... for one unit;
        ``<unit>_<i>`` for several, in the order of ``layer_``.

        Parameters
        ----------
        input_features : None
            Ignored: the features do not come from columns of ``X``.

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self, "n_features_out_")
        if not isinstance(self.layer_, list):
            return super().get_feature_names_out(input_features)
        shapes = unit_shapes(self.network_, self.image_shape_)
        names = []
        for name in self.layer_:
            shape = shapes[self.layer_names_.index(name)]
            width = math.prod(shape) if self.pooling == "flatten" else shape[0]
            names += [f"{name}_{i}" for i in range(width)]
        return np.asarray(names, dtype=object)

    def _build_network(self, fitting=False):
        """``network_`` (and ``layer_names_``, ``layer_``, ``input_size_``)
        for the fitted ``image_shape_``: the body up to ``layer``, frozen, in
        eval mode; a pretrained one at the side its weights were trained at
        (:func:`~sktransfer._estimators._freezing.input_side`)."""
        with seeded(self.random_state):
            source = load_source(
                self.backbone,
                weights=self.weights,
                weights_sha256=self.weights_sha256,
                image_shape=self.image_shape_,
                input_size=self.input_size,
            )
        side = input_side(self, source, source.pretrained, fitting)
        source = dataclasses.replace(source, input_size=side)
        self.input_size_ = side
        units = source.decomposed.units[:-1]
        self.layer_names_ = [name for name, _ in units]
        self.layer_ = self._layers(self.layer_names_, source)
        if isinstance(self.layer_, list):
            stop = self.layer_names_.index(self.layer_[-1]) + 1
        elif self.layer_ == "pool":
            stop = len(units)
        else:
            stop = self.layer_names_.index(self.layer_) + 1
        network = build_network(source, upto=stop)
        self.network_ = network.set_frozen(len(network.units)).eval()

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def _pool(self, outputs):
        if outputs.ndim == 2:
            return outputs
        if self.pooling == "avg":
            return outputs.flatten(2).mean(dim=2)
        if self.pooling == "max":
            return outputs.flatten(2).amax(dim=2)
        return outputs.flatten(1)

    def _embed(self, images):
        device = resolve_device(self.device)
        network = self.network_.to(device)

        wanted = None
        if isinstance(self.layer_, list):
            wanted = {self.layer_names_.index(name) for name in self.layer_}

        def embed(batch):
            prepared = network.prepare(batch)
            if wanted is None:
                return self._pool(network.forward_features(prepared)).float()
            return torch.cat(
                [
                    self._pool(h).float()
                    for index, h in enumerate(network.iter_units(prepared))
                    if index in wanted
                ],
                dim=1,
            )

        features = batched_inference(
            embed,
            images,
            device=device,
            precision=self.precision,
            batch_size=self.batch_size,
            ordered=True,
        )
        return require_finite(features, "features").numpy()

    def transform(self, X):
        """Embeddings of ``X``.

        Parameters
        ----------
        X : images or 1-D array of paths
            With the fitted number of channels; another height and width is
            resized like the training images when ``input_size`` is set.
            Image files are read at the fitted size.

        Returns
        -------
        features : ndarray of shape (n, ``n_features_out_``), float32
        """
        chunks = path_chunks(X, fitted_image_shape(self))
        if chunks is not None:  # many files: a bounded number read at a time
            return np.concatenate([self.transform(part) for part in chunks])
        return self._embed(check_fitted_images(self, X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        # Features are float32 whatever the input dtype (the network's dtype).
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
