"""The training recipe around skorch's fit loop: the schedule's length and
``freeze_upto="auto"`` (``_recipe.py``), the images' shift that it reads
(``_shift.py``), the regressor's probes of several depths
(``_depth_probe.py``) and its ridge head (``_ridge_head.py``), the
callbacks (``_callbacks.py``), the guard that stops a diverging run
(``_guard.py``), the learning-rate range test (``_lr_find.py``), BatchNorm
recalibration (``_batchnorm.py``), the frozen-prefix cache (``_cache.py``),
the training set with its sample weights (``_training_set.py``) and the
epoch table (``_progress.py``)."""

from ._batchnorm import BATCHNORM_MODES, recalibrate_batchnorm, trainable_batchnorms
from ._cache import frozen_prefix
from ._callbacks import (
    ConvergedStop,
    FreezeSchedule,
    RecordLR,
    WarmupCosine,
    resave_checkpoints,
    user_schedules,
)
from ._depth_probe import DepthProbe, depth_probe
from ._guard import TrainingGuard, explain_input_size, explain_out_of_memory
from ._progress import EpochTable, fit_line, verbosity
from ._recipe import (
    AUTO_FINE_TUNE_FROM,
    LR_SCHEDULES,
    auto_freezing_and_why,
    default_epochs,
    is_auto,
)
from ._ridge_head import solve_linear_head
from ._shift import middle_shift
from ._training_set import WeightedTargets, training_set, weighted_loss

__all__ = [
    "AUTO_FINE_TUNE_FROM",
    "BATCHNORM_MODES",
    "ConvergedStop",
    "DepthProbe",
    "EpochTable",
    "FreezeSchedule",
    "LR_SCHEDULES",
    "RecordLR",
    "TrainingGuard",
    "WarmupCosine",
    "WeightedTargets",
    "auto_freezing_and_why",
    "default_epochs",
    "depth_probe",
    "explain_input_size",
    "explain_out_of_memory",
    "fit_line",
    "frozen_prefix",
    "is_auto",
    "middle_shift",
    "recalibrate_batchnorm",
    "resave_checkpoints",
    "solve_linear_head",
    "trainable_batchnorms",
    "training_set",
    "user_schedules",
    "verbosity",
    "weighted_loss",
]
