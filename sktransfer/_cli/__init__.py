"""The ``sktransfer`` command: ``sktransfer study`` runs the transfer study
(and writes its report), ``sktransfer predict`` labels new images with a saved
model, ``sktransfer inspect`` shows what a model file holds, ``sktransfer
convert`` turns a trusted pickle into a model file."""

from __future__ import annotations

import argparse
import sys

from .._version import __version__
from ._model import add_convert_parser, add_inspect_parser
from ._predict import add_predict_parser
from ._study import DESCRIPTION, add_study_parser

__all__ = ["build_parser", "main"]


def build_parser():
    """The parser of the ``sktransfer`` command and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="sktransfer",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_study_parser(commands)
    add_predict_parser(commands)
    add_inspect_parser(commands)
    add_convert_parser(commands)
    return parser


def main(argv=None):
    """Run the ``sktransfer`` command; returns its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as error:
        # One line, never a traceback: a model file's refusal (ModelFileError),
        # a bad argument, a file that cannot be read or written.
        print(f"sktransfer {args.command}: error: {error}", file=sys.stderr)
        return 2
