"""``sktransfer inspect MODEL`` shows what a model file holds without
building it; ``sktransfer convert OLD NEW`` turns a pickle of an earlier
version, which the user trusts, into a model file."""

from __future__ import annotations

import argparse

import joblib

from .._model_files import inspect_model, save_model

__all__ = ["add_convert_parser", "add_inspect_parser"]

INSPECT_DESCRIPTION = """\
Show what a model file holds, without building the model: the library
version, the estimator and its steps, the classes, each network's backbone,
where its pretrained weights came from and the SHA-256 of the saved ones,
the recipe's parameters, the image shape, the number of training images,
the date, and the types the file names (load_model refuses any outside its
allowed set). The file's members and their SHA-256 are checked first.
"""

CONVERT_DESCRIPTION = """\
Convert a model saved as a pickle by an earlier version of sktransfer
(save_model wrote joblib files) into a model file with no pickle in it.
Loading a pickle runs whatever code it holds: convert only files you wrote
or whose sender you trust. The new file is what to share.
"""


def _inspect(args):
    print(inspect_model(args.model))
    return 0


def _convert(args):
    print(
        f"Loading {args.old} as trusted: a pickle runs whatever code it holds "
        "while it loads, so this is for files you trust only."
    )
    try:
        model = joblib.load(args.old)
    except Exception as error:  # joblib raises many types for a bad file
        raise ValueError(
            f"`OLD` {args.old} is not a pickle of a model "
            f"({type(error).__name__}: {error})."
        ) from error
    if isinstance(model, dict) and model.get("format") == "sktransfer-model":
        model = model.get("model")  # save_model's pickles of earlier versions
    if not (hasattr(model, "predict") or hasattr(model, "transform")):
        raise ValueError(
            f"`OLD` {args.old} holds a {type(model).__name__}, not a model with "
            "predict or transform."
        )
    path = save_model(model, args.new, card=args.card)
    print(f"Wrote {path}, a model file with no pickle in it:\n")
    print(inspect_model(path))
    return 0


def add_inspect_parser(commands):
    """Add ``sktransfer inspect`` to the ``commands`` of the main parser."""
    parser = commands.add_parser(
        "inspect",
        help="show what a model file holds, without building it",
        description=INSPECT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="a file from save_model")
    parser.set_defaults(run=_inspect)
    return parser


def add_convert_parser(commands):
    """Add ``sktransfer convert`` to the ``commands`` of the main parser."""
    parser = commands.add_parser(
        "convert",
        help="turn a trusted pickle of an earlier version into a model file",
        description=CONVERT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("old", metavar="OLD", help="a pickle or joblib file")
    parser.add_argument("new", metavar="NEW", help="the model file to write")
    parser.add_argument(
        "--card", action="store_true", help="also write a Markdown model card"
    )
    parser.set_defaults(run=_convert)
    return parser
