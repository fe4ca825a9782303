"""The recipe's stop once the training loss has converged: the rest of the
cosine decay compressed into a short tail, for lengths the recipe chose."""

import numpy as np
import pytest

from sktransfer import PretrainedCNNClassifier
from sktransfer._training._callbacks import ConvergedStop, WarmupCosine
from sktransfer._training._recipe import (
    CONVERGED_EPOCHS,
    converged_tail,
    default_epochs,
)


def learned_by_heart(n=60, size=8, seed=0):
    """Two classes any network learns by heart in a few epochs."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = np.where(y[:, None, None] == 0, 40, 215) + rng.integers(0, 30, (n, size, size))
    return X.astype(np.uint8), y


def mlp(**params):
    return PretrainedCNNClassifier("mlp", input_size=8, random_state=0, **params)


def test_a_converged_fit_ends_its_decay_early_and_says_so(capsys):
    X, y = learned_by_heart()
    clf = mlp(lr=0.01, verbose=1).fit(X, y)
    planned = default_epochs(60, 32)
    converged = clf.converged_epoch_
    assert converged is not None and converged < planned
    # The tail: a tenth of the plan, after which training stopped.
    assert clf.max_epochs_ == converged + converged_tail(planned, converged)
    assert len(clf.history) == clf.max_epochs_ < planned
    losses = clf.history[:, "train_loss"]
    assert all(
        loss < 0.01 * losses[0]
        for loss in losses[converged - CONVERGED_EPOCHS : converged]
    )
    lrs = clf.history[:, "lr"]
    assert lrs[-1] < 0.05 * max(lrs)  # decayed to about zero, not cut at full rate
    assert all(
        a >= b for a, b in zip(lrs[converged:], lrs[converged + 1 :], strict=False)
    )
    line = capsys.readouterr().out
    assert f"{clf.max_epochs_} epochs in " in line
    assert f"the recipe's {planned} for 60 images" in line
    assert f"the training loss converged at epoch {converged}" in line
    assert "8 px input" in line
    assert clf.score(X, y) == 1.0


def test_the_last_epoch_is_printed_and_recorded(capsys):
    X, y = learned_by_heart()
    clf = mlp(lr=0.01, verbose=2).fit(X, y)
    table = capsys.readouterr().out
    row = [line for line in table.splitlines() if line.split()[:1] == ["epoch"]]
    assert row  # skorch's table header
    assert f"\n{clf.max_epochs_:>7}" in table  # the last epoch's row
    assert "train_loss" in clf.history[-1] and "lr" in clf.history[-1]


def test_a_length_the_user_chose_runs_to_its_end():
    X, y = learned_by_heart()
    clf = mlp(lr=0.01, max_epochs=40).fit(X, y)
    assert clf.max_epochs_ == len(clf.history) == 40
    assert clf.converged_epoch_ is None


def test_a_loss_that_does_not_converge_runs_the_whole_plan():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (40, 8, 8)).astype(np.uint8)
    y = rng.integers(0, 2, 40)  # noise: no network learns it in a few epochs
    clf = mlp(lr=1e-4).fit(X, y)
    assert clf.converged_epoch_ is None
    assert clf.max_epochs_ == len(clf.history) == default_epochs(40, 32)


def test_a_constant_rate_is_never_cut_short():
    X, y = learned_by_heart()
    clf = mlp(lr=0.01, lr_schedule="constant").fit(X, y)
    assert clf.converged_epoch_ is None
    assert clf.max_epochs_ == default_epochs(60, 32)


def test_the_compressed_tail_is_continuous_and_ends_near_zero():
    schedule = WarmupCosine(warmup=0.1).initialize()
    schedule.total_steps_ = 100
    schedule.step_ = 30
    before = schedule.factor(30)
    schedule.compress(10)
    assert schedule.factor(30) == pytest.approx(before)
    tail = [schedule.factor(step) for step in range(30, 40)]
    assert all(a > b for a, b in zip(tail, tail[1:], strict=False))
    assert tail[-1] < 0.05 * before
    plain = WarmupCosine(warmup=0.1).initialize()
    plain.total_steps_ = 100
    assert schedule.factor(29) == pytest.approx(plain.factor(29))  # before: as planned


@pytest.mark.parametrize(
    ("planned", "done", "tail"), [(60, 9, 6), (20, 9, 2), (10, 9, 1), (10, 10, 0)]
)
def test_converged_tail(planned, done, tail):
    assert converged_tail(planned, done) == tail


def test_the_stop_is_inactive_without_a_planned_length():
    stop = ConvergedStop().initialize()
    assert stop.epochs_ is None and stop.converged_epoch_ is None
