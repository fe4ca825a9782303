"""``python -m sktransfer._cli``: the ``sktransfer`` command."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
