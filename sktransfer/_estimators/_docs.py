"""The documentation of what the image estimators share, written once.

:class:`~sktransfer.PretrainedCNNClassifier`,
:class:`~sktransfer.PretrainedCNNRegressor` and
:class:`~sktransfer.LabelRelationTransfer` take the same training parameters
(the recipe, the data path, skorch's: the ``RECIPE`` and ``SKORCH``
constraints of :mod:`sktransfer._estimators._parameters`) and have the same fitted
attributes. Their docstrings say ``%(training_parameters)s`` and
``%(fitted_attributes)s`` where these go, and :func:`shared_docs` puts them
there, so that no two describe one parameter differently.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["FITTED_ATTRIBUTES", "TRAINING_PARAMETERS", "shared_docs"]

TRAINING_PARAMETERS = """\
    backbone_lr_scale : float, default=1.0
        Learning-rate multiplier for the transferred body (a smaller rate for
        pretrained layers, as Trivedi advises).
    augment : None, {"flip", "rot90", "standard"} or callable, default=None
        Augmentation of training batches, on the device; never applied to
        validation or prediction batches.
    tta : None, bool or {"flip", "rot90", "flip_rot90"}, default=None
        Test-time augmentation (fastai's ``tta``): ``predict``,
        ``predict_proba`` and ``forward`` average the class probabilities
        over deterministic variants of each image, the image and its mirror
        (``"flip"``), its four rotations (``"rot90"``) or all eight
        (``"flip_rot90"``); ``True`` takes those of ``augment``. It costs 2,
        4 or 8 forward passes; ``forward`` then returns the log of the
        averaged probabilities. Use variants the classes do not change under
        (mirrored digits are other digits): measured in the recipe guide.
    image_shape : tuple or None, default=None
        ``(C, H, W)`` or ``(H, W)`` of 2-D row input (e.g. after ``SMOTE``).
    input_size : int or None, default=None
        Square side images are resized to on the device; None takes the
        backbone's (from the weights' metadata where there is some). When
        units train, images under 96 px a side go in at 64 px instead (never
        below what the backbone runs on): the trained units adapt to them at
        a twelfth of the compute of 224 px. A wholly frozen pretrained body
        always takes them at its own side: it cannot adapt, and a head on
        it scored 0.08 to 0.19 higher there on photographs and drawings
        shrunk to 64 px (the recipe guide); label-relation transfer keeps
        the source's side, where it measures the relation. The side used is
        in ``input_size_``.
    random_state : int, RandomState or None, default=None
        Seeds initialisation, shuffling, dropout and augmentation.
    class_weight : "balanced", dict or None, default=None
        Weights of the classes in the loss.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data
        and stop when the validation loss has not improved for
        ``n_iter_no_change`` epochs, restoring the best weights.
    validation_fraction : float, default=0.1
        The share of the training images held out for ``early_stopping``
        (stratified by class); unused without it.
    n_iter_no_change : int, default=5
        Epochs without a better validation loss before ``early_stopping``
        stops; unused without it.
    freeze_epochs : int, default=0
        Train the head alone for this many epochs before unfreezing down to
        ``freeze_upto`` (fastai's ``fine_tune``).
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        ``"auto"``: bf16 autocast on CUDA, float32 on CPU.
    cache_frozen : bool, default=True
        When the first units are frozen from the start (``freeze_epochs=0``)
        and there is no augmentation, compute their output once per fit and
        train the rest on it (exact: the frozen units give the same output
        every epoch). ``freeze_upto="all"`` becomes one forward pass plus
        head epochs. Skipped when the cache would exceed its memory budget.
        ``n_cached_units_`` tells what was cached.
    batchnorm : {"recalibrate", "frozen", "train"}, default="recalibrate"
        What BatchNorm layers do. ``"train"``: the trainable units' BatchNorm
        layers run in training mode and their running statistics follow by
        momentum (slowly: EfficientNet's is 0.01). ``"recalibrate"``: the
        same, then one pass over the training data re-estimates those
        statistics ("precise BN"; frozen units untouched, no augmentation),
        so that eval-mode predictions agree with what training learned.
        ``"frozen"``: every BatchNorm layer of the body stays in eval mode
        while training (its affine weights still learn; the head's
        ``head_batchnorm`` trains). See the recipe guide.
    lr_schedule : {"warmup_cosine", "constant"}, default="warmup_cosine"
        ``"warmup_cosine"``: a linear warm-up over the first 10% of the
        optimiser steps, then cosine decay to zero, stepped every batch; each
        parameter group keeps its ratio to ``lr``. Ignored when ``callbacks``
        holds a skorch ``LRScheduler`` (the user's schedule wins). The rate
        per epoch is in ``history[:, "lr"]`` (and ``"lr_body"``).
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        As in skorch (its parameters: ``criterion__*``).
    optimizer : torch optimizer class, default=torch.optim.AdamW
        As in skorch (its parameters: ``optimizer__*``; AdamW's weight decay
        is 0.01).
    lr : float, default=3e-3
        The head's learning rate (the body's is ``backbone_lr_scale`` times
        it), with warm-up and cosine decay (``lr_schedule``); the recipe guide
        says how it was chosen.
    max_epochs : int or None, default=None
        ``None``: chosen from the number of training images, about 300
        optimiser steps within 5 to 60 epochs, ended early once the
        training loss has stayed under a hundredth of its first epoch's for
        three epochs after the warm-up (the rest of the cosine decay is then
        compressed into a tenth of the plan: a few dozen images are learned
        by heart in a few epochs); the epochs a fit ran are in
        ``max_epochs_``, the epoch of convergence in ``converged_epoch_``.
        An int is used as given, to its end.
    batch_size : int, default=32
        Images per training batch (prediction runs batches of at least 256,
        of at most 32 images of 224 px on the CPU, or
        ``iterator_valid__batch_size``).
    train_split : callable or None, default=None
        As in skorch; None: no internal validation split (``early_stopping``
        makes its own).
    callbacks : None, list of (name, Callback) or "disable", default=None
        As in skorch; a ``LRScheduler`` among them replaces the recipe's
        schedule.
    warm_start : bool, default=False
        A later ``fit`` continues from the fitted weights (changing
        ``freeze_upto`` takes effect; ``transfer_upto`` may not change).
    verbose : int, default=0
        Silent; ``1`` prints one line per fit (its parameters that differ
        from the defaults, images, epochs, time, final loss), which reads well
        inside ``GridSearchCV``; ``2`` adds skorch's epoch table, ``3`` a
        progress bar per epoch.
    device : str or torch.device, default="auto"
        ``"auto"``: CUDA when present, else CPU.
    iterator_train, iterator_valid : class, default=ShuffledBatchLoader, BatchLoader
        Batches sliced from the images held in memory (on the device when
        they fit); skorch's ``DataLoader`` arguments are accepted.
    dataset : class, default=skorch.dataset.Dataset
        As in skorch (unused: the images become in-memory batches).
    predict_nonlinearity : callable, None or "auto", default="auto"
        As in skorch: what ``predict_proba`` applies to the outputs.
    compile : bool, default=False
        As in skorch: ``torch.compile`` the network.
    use_caching : bool or "auto", default="auto"
        As in skorch: scoring callbacks reuse the predictions of an epoch.
    torch_load_kwargs : dict or None, default=None
        As in skorch: arguments of ``torch.load`` in ``load_params``.
    classes : array-like or None, default=None
        As in skorch: the classes, when ``y`` does not show them all.
    **kwargs
        skorch's other parameters and routing prefixes
        (``optimizer__weight_decay``, ``callbacks__...``).
"""

FITTED_ATTRIBUTES = """\
    classes_ : ndarray
        The labels, in the order of ``predict_proba``'s columns.
    layer_names_ : list of str
        The transferable units of the body, in forward order.
    n_frozen_ : int
        Number of frozen units.
    auto_shift_ : float or None
        With ``freeze_upto="auto"``: how far the training images are from
        the source at the body's middle units (the KL divergence of their
        BatchNorm statistics from the running ones), which chose between
        the frozen body and fine-tuning. None without ``"auto"``, pretrained
        units, or BatchNorm layers there.
    auto_probe_ : ndarray of shape (3,) or None
        The regressor's, with ``freeze_upto="auto"`` and fewer than 1,000
        images: the leave-one-out R² of ridge probes on the pretrained
        body's pooled features at its top and at several depths, and the
        standard error of their difference (``top, depths, noise``). None
        for the classifiers and where nothing was measured.
    n_cached_units_ : int
        Number of frozen units whose output the last fit cached (0: none).
    n_recalibrated_ : int
        Number of BatchNorm layers whose statistics the last fit re-estimated.
    max_epochs_ : int
        Epochs of the last ``fit`` or ``partial_fit``.
    converged_epoch_ : int or None
        The epoch at which the last fit's training loss was found converged
        and its schedule compressed (``max_epochs=None``); None if it ran
        the whole plan.
    image_shape_ : tuple
        ``(C, H, W)`` of the training images.
    input_size_ : int or None
        The side the network takes images at (``module_.input_size``): with
        ``input_size=None``, the side the pretrained weights were trained
        at when the whole body is frozen, else the backbone's, or 64 px for
        images under 96 px a side. None: images go in at their own size.
    n_samples_fit_ : int
        Number of images in the last ``fit``.
    n_features_in_ : int
        ``C * H * W``.
    module_ : TransferNetwork
        The network: ``units`` (the body), ``pool`` and ``head``.
    pixel_max_ : float
        The largest pixel value of the training images on the [0, 1] scale;
        images on another scale at prediction are named in a warning.
    class_weight_ : ndarray of shape (n_classes,)
        The weights of the classes in the loss (only with ``class_weight``).
    source_categories_ : list or None
        The names of the source network's outputs (ImageNet's categories,
        the source estimator's classes), None when unknown.
    history : skorch History
        Losses, learning rates and durations per epoch
        (``history[:, "train_loss"]``).
"""


def _entries(text):
    """The numpydoc entries of ``text`` (indented 4 spaces), each under the
    tuple of the names it documents, in order."""
    starts = [m.start() for m in re.finditer(r"^    (?=\S)", text, re.M)]
    entries = {}
    if not starts:
        return entries
    for start, stop in zip(starts, [*starts[1:], len(text)], strict=True):
        chunk = text[start:stop]
        names = chunk.splitlines()[0].split(" : ")[0]
        entries[tuple(n.strip() for n in names.split(","))] = chunk
    return entries


def _parameters_of(doc):
    """The Parameters section of a docstring ('' without one)."""
    header = "    Parameters\n    ----------\n"
    if header not in doc:
        return ""
    start = doc.index(header) + len(header)
    stop = doc.find("\n\n", start)
    return doc[start : stop + 1 if stop >= 0 else len(doc)]


def _parameters_section(cls, own):
    """The class's own entries, then those of its bases in this library and
    the shared ones for the parameters it does not document itself, in the
    order of its signature (entries of parameters it lacks left out)."""
    order = {}
    for position, (name, parameter) in enumerate(
        inspect.signature(cls).parameters.items()
    ):
        order["**" + name if parameter.kind is parameter.VAR_KEYWORD else name] = (
            position
        )
    entries = _entries(own)
    documented = {name for names in entries for name in names}
    like = getattr(cls, "_documented_like", None)
    inherited = [
        _parameters_of(base.__doc__)
        for base in (*cls.__mro__[1:], *([like] if like else []))
        if base.__module__.startswith("sktransfer") and base.__doc__
    ]
    for source in (*inherited, TRAINING_PARAMETERS):
        for names, text in _entries(source).items():
            if not documented & set(names) and set(names) <= set(order):
                entries[names] = text
                documented |= set(names)
    return "".join(
        sorted(
            entries.values(),
            key=lambda text: min(
                order.get(name, len(order))
                for name in next(n for n, t in entries.items() if t is text)
            ),
        )
    )


def shared_docs(cls):
    """Class decorator: the shared parameters and attributes into the
    docstring of ``cls``.

    Where it says ``%(training_parameters)s``, the Parameters section gets
    the entries of the parameters in the class's signature that it does not
    document itself, from its bases' docstrings (and ``_documented_like``'s)
    or the shared ones, all in
    the signature's order; where it says
    ``%(fitted_attributes)s``, the shared fitted attributes but those the
    class names in ``_attributes_not_shared``.
    """
    doc = cls.__doc__
    for key in ("training_parameters", "fitted_attributes"):
        if f"    %({key})s\n" not in doc:
            raise ValueError(f"{cls.__name__}'s docstring has no %({key})s.")
    header = "    Parameters\n    ----------\n"
    start = doc.index(header) + len(header)
    stop = doc.index("\n\n", doc.index("    %(training_parameters)s\n")) + 1
    own = doc[start:stop].replace("    %(training_parameters)s\n", "")
    doc = doc[:start] + _parameters_section(cls, own) + doc[stop:]
    skipped = set(getattr(cls, "_attributes_not_shared", ()))
    attributes = "".join(
        text
        for names, text in _entries(FITTED_ATTRIBUTES).items()
        if not skipped & set(names)
    )
    cls.__doc__ = doc.replace("    %(fitted_attributes)s\n", attributes)
    return cls
