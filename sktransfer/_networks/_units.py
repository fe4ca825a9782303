"""Units named or counted: ``freeze_upto``, ``transfer_upto``, ``layer``.

The one place that turns what a user writes about the transferable units of
a backbone (an index, a unit name, ``"half"``, ``"all"``) into positions, so
that the estimators, the extractor, the studies, the advice and the
inspection functions agree on what ``"half"`` is.
"""

from __future__ import annotations

import numbers

__all__ = ["half_units", "resolve_unit_count", "unit_position"]


def half_units(n_units):
    """How many units ``"half"`` means: half of ``n_units``, at least one."""
    return max(n_units // 2, 1)


def unit_position(value, unit_names, parameter):
    """The index of the unit named or numbered by ``value``.

    ``value`` is a name of ``unit_names``, an index (negative counts from the
    end), or ``"half"``: the last unit of the first half, the one
    ``freeze_upto="half"`` freezes up to, as ``CNNFeatureExtractor(layer=...)``
    and the inspection functions take it (``freeze_upto`` counts units, see
    :func:`resolve_unit_count`).

    Examples
    --------
    >>> unit_position("half", ["stem", "layer1", "layer2", "layer3"], "layer")
    1
    """
    n_units = len(unit_names)
    if isinstance(value, str) and value == "half" and value not in unit_names:
        return half_units(n_units) - 1
    if isinstance(value, str):
        if value not in unit_names:
            raise ValueError(
                f"`{parameter}`={value!r} is not a unit of this backbone; "
                f"expected one of {unit_names}, 'half' or an index below {n_units}."
            )
        return unit_names.index(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if -n_units <= value < n_units:
            return int(value) % n_units
        raise ValueError(
            f"`{parameter}`={value} is out of range for the {n_units} units "
            f"{unit_names}; expected an index in [{-n_units}, {n_units - 1}] or "
            "a unit name."
        )
    raise TypeError(
        f"`{parameter}` must be a unit name of {unit_names}, 'half' or an int "
        f"index; got {value!r}."
    )


def resolve_unit_count(value, unit_names, parameter, *, allow_all=True):
    """Turn ``freeze_upto`` / ``transfer_upto`` into a number of units.

    ``value`` is an int, a unit name (that unit and all before it),
    ``"half"`` (:func:`half_units`) or, where ``allow_all``, ``"all"``.

    Examples
    --------
    >>> names = ["stem", "layer1", "layer2", "layer3", "layer4"]
    >>> [resolve_unit_count(v, names, "freeze_upto") for v in (0, "layer1", "half")]
    [0, 2, 2]
    """
    n_units = len(unit_names)
    if allow_all and isinstance(value, str) and value == "all":
        return n_units
    if isinstance(value, str) and value == "half" and value not in unit_names:
        return half_units(n_units)
    if isinstance(value, str):
        if value not in unit_names:
            words = "'all', 'half'" if allow_all else "'half'"
            raise ValueError(
                f"`{parameter}`={value!r} is not a unit of this backbone; expected "
                f"an int in [0, {n_units}], {words} or one of {unit_names}."
            )
        return unit_position(value, unit_names, parameter) + 1
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(
            f"`{parameter}` must be an int, a unit name or 'all'; got {value!r}."
        )
    if not 0 <= value <= n_units:
        raise ValueError(
            f"`{parameter}`={value} is out of range: this backbone has {n_units} "
            f"transferable units before its head ({unit_names}); expected an int in "
            f"[0, {n_units}], 'all' or a unit name."
        )
    return int(value)
