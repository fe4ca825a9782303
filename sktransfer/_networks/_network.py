"""The network module: input adaptation, transferable units, a head.

Freezing, partial transfer and head replacement live here, expressed once on
parameter names (``units.<unit>.*``), as skorch's ``Freezer`` does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TransferNetwork", "make_head", "reset_parameters"]

HEAD_ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "selu": nn.SELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def reset_parameters(module):
    """Re-initialise every sub-module that knows how (``reset_parameters``)."""
    for child in module.modules():
        reset = getattr(child, "reset_parameters", None)
        if callable(reset):
            reset()


def first_linear(module):
    return next((m for m in module.modules() if isinstance(m, nn.Linear)), None)


def _channels_last(x):
    """Image batches (4-D) in the layout of the network's weights
    (:func:`~sktransfer._networks._build.build_network` lays them out channels-last)."""
    if x.ndim == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def _last(outputs, default):
    """The last item of ``outputs`` (``default`` when there is none)."""
    for default in outputs:  # noqa: B007 (what the loop leaves is the result)
        pass
    return default


def make_head(
    in_features,
    n_outputs,
    hidden_sizes=(),
    dropout=0.0,
    activation="relu",
    batchnorm=False,
):
    """A new classification head:
    [BatchNorm1d] ([Dropout] Linear activation)* [Dropout] Linear.

    ``batchnorm`` standardises the pooled features before the first Linear
    layer, as fastai's ``create_head`` does: a head learned from scratch on
    features of unequal, uncentred scales otherwise converges slowly.
    """
    layers = [nn.BatchNorm1d(in_features)] if batchnorm else []
    size = in_features
    for hidden in hidden_sizes:
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(size, hidden))
        layers.append(
            HEAD_ACTIVATIONS[activation]()
            if isinstance(activation, str)
            else activation()
        )
        size = hidden
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(size, n_outputs))
    return nn.Sequential(*layers)


class TransferNetwork(nn.Module):
    """Body units, pooling glue and a head, with on-device input handling.

    ``forward`` takes a batch of images, ``uint8`` or float in [0, 1],
    ``(n, C, H, W)``; it scales, adapts the channel count, augments (in
    training mode only), resizes and normalises on the batch's device, then
    runs :meth:`forward_features` and :meth:`forward_head`.

    Parameters
    ----------
    units : list of (str, nn.Module)
        Body units in forward order.
    pool_index : int
        Number of units before ``pool``.
    pool : nn.Module
        Global pooling and flattening.
    head : nn.Module
        Maps pooled features to outputs.
    head_name : str
        Name of the source unit that ``head`` replaces (e.g. ``"fc"``).
    input_size : int or None
        Square side images are resized to; None keeps their size.
    mean, std : tuple of float or None
        Normalisation; None skips it.
    in_channels : int or None
        Channels the units take; 1 <-> 3 channel inputs are converted.
    augment : callable or None
        Batched augmentation ``augment(images) -> images`` (float, [0, 1]).
    batchnorm : {"train", "recalibrate", "frozen"}, default="train"
        ``"frozen"`` keeps every BatchNorm layer in eval mode while training
        (its running statistics fixed, its affine weights still learned);
        otherwise the trainable units' BatchNorm layers run in training mode
        (``"recalibrate"`` re-estimates their statistics after training, see
        :func:`sktransfer._training._batchnorm.recalibrate_batchnorm`).
    """

    def __init__(
        self,
        units,
        pool_index,
        pool,
        head,
        *,
        head_name="head",
        input_size=None,
        mean=None,
        std=None,
        in_channels=None,
        augment=None,
        batchnorm="train",
    ):
        super().__init__()
        self.units = nn.ModuleDict(units)
        self.pool_index = pool_index
        self.pool = pool
        self.head = head
        self.head_name = head_name
        self.input_size = input_size
        self.in_channels = in_channels
        self.mean_values = tuple(mean) if mean is not None else None
        self.std_values = tuple(std) if std is not None else None
        self.augment = augment
        self.batchnorm = batchnorm
        if mean is not None:
            shape = (1, len(mean), 1, 1)
            self.register_buffer(
                "mean", torch.tensor(mean).reshape(shape), persistent=False
            )
            self.register_buffer(
                "std", torch.tensor(std).reshape(shape), persistent=False
            )
        else:
            self.mean = self.std = None
        self.n_frozen = 0
        self.cached_units = 0

    @classmethod
    def from_source(cls, source, head=None, *, upto=None, **options):
        """The network of a resolved source: the one path from a source to a
        network, for every estimator.

        Parameters
        ----------
        source : Source
            From :func:`sktransfer._networks._source.resolve_source`: the decomposed
            backbone (units, pooling glue, head) and its preprocessing.
        head : nn.Module or None, default=None
            The head after the pooling. None keeps the source's own head
            (its whole network, e.g. for label-relation transfer), or none at
            all (``Identity``) when the body is truncated by ``upto``.
        upto : int or None, default=None
            Keep only the first ``upto`` body units (a feature extractor).
            The pooling glue (a flatten for dense units) stays where it runs
            in the source: before unit ``pool_index`` when that unit is kept,
            at the end for the penultimate features; never after a truncated
            body.
        **options
            ``augment`` and ``batchnorm`` of :class:`TransferNetwork`.
        """
        decomposed = source.decomposed
        head_name, source_head = decomposed.units[-1]
        body = decomposed.units[:-1]
        pool = decomposed.pool
        if upto is not None:
            if not (upto == len(body) or decomposed.pool_index < upto):
                pool = nn.Identity()
            body = body[:upto]
            head = nn.Identity() if head is None else head
        return cls(
            body,
            min(decomposed.pool_index, len(body)),
            pool,
            source_head if head is None else head,
            head_name=head_name,
            input_size=source.input_size,
            mean=source.mean,
            std=source.std,
            in_channels=source.in_channels,
            **options,
        )

    @property
    def unit_names(self):
        return list(self.units)

    def prepare(self, x):
        """uint8/float images -> normalised float batch the units take."""
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        elif x.dtype != torch.float32:
            x = x.float()
        if self.in_channels is not None and x.shape[1] != self.in_channels:
            if x.shape[1] == 1:
                x = x.expand(-1, self.in_channels, -1, -1)
            elif self.in_channels == 1:
                x = x.mean(dim=1, keepdim=True)
        if self.training and self.augment is not None:
            x = self.augment(x)
        if self.input_size is not None and tuple(x.shape[-2:]) != (
            self.input_size,
            self.input_size,
        ):
            shrink = min(x.shape[-2:]) > self.input_size
            x = F.interpolate(
                x,
                size=(self.input_size, self.input_size),
                mode="bilinear",
                align_corners=False,
                antialias=shrink,
            )
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return _channels_last(x)

    def iter_units(self, h, start=0, stop=None):
        """Run units ``start:stop`` on ``h``, yielding each unit's output.

        The pooling glue runs before unit ``pool_index``, as in the source;
        the one loop every forward pass (and the inspection code) uses.
        """
        units = list(self.units.values())
        stop = len(units) if stop is None else stop
        for index in range(start, stop):
            if index == self.pool_index:
                h = self.pool(h)
            h = units[index](h)
            yield h

    def _pool_after(self, h, stop):
        """The pooling glue after the last unit, when it comes there."""
        if self.pool_index >= len(self.units) and stop == len(self.units):
            h = self.pool(h)
        return h

    def forward_features(self, x, *, upto=None):
        """Run the body (and pooling) on prepared input.

        ``upto`` stops after that many units, before pooling when it comes
        earlier.
        """
        stop = len(self.units) if upto is None else upto
        return self._pool_after(_last(self.iter_units(x, 0, stop), x), stop)

    def forward_head(self, features):
        return self.head(features)

    def forward_suffix(self, h, start):
        """Run units ``start:`` (and pooling, then the head) on a prefix's output.

        ``h`` is ``forward_features(prepare(x), upto=start)``; the two together
        are the whole forward pass.
        """
        out = _last(self.iter_units(_channels_last(h), start), h)
        if start < len(self.units):
            out = self._pool_after(out, len(self.units))
        return self.forward_head(out)

    def forward(self, x):
        if self.cached_units:
            # Frozen-prefix caching: x is already the output of the first units.
            return self.forward_suffix(x, self.cached_units)
        return self.forward_head(self.forward_features(self.prepare(x)))

    # -- freezing -------------------------------------------------------------
    def unit_of(self, parameter_name):
        """The index of the unit parameter ``parameter_name`` belongs to (the
        pooling glue counts with the unit before it, the head after the
        last)."""
        top, _, rest = parameter_name.partition(".")
        if top == "units":
            return self.unit_names.index(rest.partition(".")[0])
        if top == "pool":
            return self.pool_index - 1
        return len(self.units)  # the head

    def set_frozen(self, n_frozen):
        """Freeze the first ``n_frozen`` units (and the pooling glue with them).

        Frozen parameters get ``requires_grad=False``; frozen units also stay
        in eval mode, so BatchNorm running statistics are left untouched.
        """
        self.n_frozen = n_frozen
        for name, parameter in self.named_parameters():
            parameter.requires_grad_(self.unit_of(name) >= n_frozen)
        self.train(self.training)
        return self

    def frozen_modules(self):
        modules = list(self.units.values())[: self.n_frozen]
        if self.n_frozen >= self.pool_index:
            modules.append(self.pool)
        return modules

    def train(self, mode=True):
        super().train(mode)
        if mode:
            for module in self.frozen_modules():
                module.eval()
            if getattr(self, "batchnorm", "train") == "frozen":
                # The body's statistics; the new head's BatchNorm must learn.
                for module in (*self.units.modules(), *self.pool.modules()):
                    if isinstance(module, nn.modules.batchnorm._BatchNorm):
                        module.eval()
        return self

    def reinitialise_from(self, n_kept):
        """Re-initialise every unit after the first ``n_kept`` (partial transfer)."""
        for unit in list(self.units.values())[n_kept:]:
            reset_parameters(unit)
        if n_kept < self.pool_index:
            reset_parameters(self.pool)
        return self
