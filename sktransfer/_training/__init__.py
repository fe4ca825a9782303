"""TODO"""

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
from ._guard import TrainingGuard, explain_input_size, explain_out_of_memory
from ._lr_find import LRFindResult, lr_find
from ._progress import EpochTable, fit_line, verbosity
from ._recipe import (
    LR_SCHEDULES,
    auto_freezing,
    auto_freezing_and_why,
    default_epochs,
    is_auto,
)
from ._training_set import WeightedTargets, training_set, weighted_loss

__all__ = [
    "BATCHNORM_MODES",
    "ConvergedStop",
    "EpochTable",
    "FreezeSchedule",
    "LRFindResult",
    "LR_SCHEDULES",
    "RecordLR",
    "TrainingGuard",
    "WarmupCosine",
    "WeightedTargets",
    "auto_freezing",
    "auto_freezing_and_why",
    "default_epochs",
    "explain_input_size",
    "explain_out_of_memory",
    "fit_line",
    "frozen_prefix",
    "is_auto",
    "lr_find",
    "recalibrate_batchnorm",
    "resave_checkpoints",
    "trainable_batchnorms",
    "training_set",
    "user_schedules",
    "verbosity",
    "weighted_loss",
]
