"""Which transfer strategy to try first: Trivedi's four scenarios."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

__all__ = ["Advice", "suggest_strategy"]

_SCENARIOS = {
    (True, True): (
        1,
        "linear classifier on the top CNN features",
        {"freeze_upto": "all"},
        "the target set is small, so fine-tuning risks over-fitting, and it is "
        "similar to the source, so the top features already fit it",
    ),
    (False, True): (
        2,
        "fine-tune the whole network",
        {"freeze_upto": 0},
        "with more data, fine-tuning through the full network is unlikely to "
        "over-fit, and similar data makes the pretrained start a good one",
    ),
    (True, False): (
        3,
        "linear classifier on earlier CNN features",
        {"freeze_upto": "all", "layer": "half"},
        "the target set is small, so train only a linear classifier, but it is "
        "different from the source, so the top, source-specific features fit "
        "less well than earlier, more generic ones",
    ),
    (False, False): (
        4,
        "fine-tune everything, starting from the pretrained weights",
        {"freeze_upto": 0, "weights": "DEFAULT"},
        "with a large and different target set one could train from scratch, "
        "but starting from pretrained weights and fine-tuning all layers "
        "usually still helps",
    ),
}


@dataclass(frozen=True)
class Advice:
    """The scenario a target set falls in and the strategy it suggests.

    Parameters
    ----------
    scenario : int
        1 small & similar, 2 large & similar, 3 small & different, 4 large &
        different (Trivedi's numbering).
    strategy : str
        The strategy, in words.
    params : dict
        Parameters that express the strategy in this library
        (``layer="half"``: the last unit of the first half of
        ``layer_names_``, a valid ``layer`` of
        :class:`~sktransfer.CNNFeatureExtractor`).
    rationale : str
        Why, in words.
    small, similar : bool
        Whether the target set is small, and similar to the source.
    """

    scenario: int
    strategy: str
    params: dict = field(hash=False)
    rationale: str
    small: bool
    similar: bool

    def __str__(self):
        size = "small" if self.small else "large"
        kind = "similar to" if self.similar else "different from"
        return (
            f"Scenario {self.scenario} ({size} target, {kind} the source): "
            f"{self.strategy} — {self.rationale}."
        )


def suggest_strategy(n_samples, similarity, *, small_below=1000, similar_above=0.9):
    """Suggest a transfer strategy from the target size and its similarity.

    Trivedi's rule of thumb: the size of the new dataset and its similarity
    to the source decide between a linear classifier on CNN features (top or
    earlier ones) and fine-tuning (part or all of the network).

    Parameters
    ----------
    n_samples : int
        Number of labelled target training images.
    similarity : float in [-1, 1]
        Cosine similarity of the source and target mean embeddings,
        ``1 - sktransfer.metrics.embedding_cosine_distance(X_source,
        X_target)`` (Molina et al.'s measure).
    small_below : int, default=1000
        Fewer images than this count as a small target set.
    similar_above : float, default=0.9
        A similarity above this counts as similar. Mean embeddings of
        non-negative CNN features are rarely far apart, so the threshold is
        high; calibrate it on pairs of datasets you know.

    Returns
    -------
    advice : Advice

    Notes
    -----
    The estimators make this choice themselves by default
    (``freeze_upto="auto"``), from the images: under 1,000 images (this
    function's ``small_below``) that are near the source, as the pretrained
    body's own BatchNorm statistics measure it, they take scenario 1, a head
    on the frozen body; far from it, or from 1,000 images on, they fine-tune
    the whole network. On small sets far from the source (digits) that does
    better than scenario 3's earlier features (the recipe guide). This
    function adds Molina et al.'s similarity, for a source of your own.

    References
    ----------
    .. [1] A. Trivedi, "Transfer learning and fine-tuning deep convolutional
       neural networks", 2017 (the four scenarios).
    .. [2] M. A. Molina et al., "A preliminary study on deep transfer learning
       applied to image classification for small datasets", 2020 (the
       cosine measure).

    Examples
    --------
    >>> from sktransfer import suggest_strategy
    >>> advice = suggest_strategy(300, 0.95)
    >>> advice.scenario, advice.params
    (1, {'freeze_upto': 'all'})
    >>> suggest_strategy(50_000, 0.5).scenario
    4
    """
    if (
        not isinstance(n_samples, numbers.Integral)
        or isinstance(n_samples, bool)
        or n_samples < 1
    ):
        raise ValueError(f"`n_samples` must be a positive int; got {n_samples!r}.")
    if not isinstance(similarity, numbers.Real) or not -1 <= similarity <= 1:
        raise ValueError(
            f"`similarity` must be a cosine similarity in [-1, 1]; got {similarity!r}."
        )
    small, similar = n_samples < small_below, similarity > similar_above
    scenario, strategy, params, rationale = _SCENARIOS[(small, similar)]
    return Advice(scenario, strategy, dict(params), rationale, small, similar)
