"""Files written whole or not at all, with the mode the umask gives.

A model file and a ``predict --out`` CSV are written under a temporary name
in their folder and renamed over the destination once complete, so an
interrupted write leaves an earlier file as it was. ``tempfile.mkstemp``
makes its files private (0600) whatever the umask; the file gets the mode
any new file of the user's gets (0644 under the usual umask 022), so a
model meant for sharing can be read by the colleague it is shared with.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["written_whole"]


def _umask():
    # The only portable way to read the umask is to set it; put it back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def written_whole(path, mode="wb", **open_kwargs):
    """A stream to write ``path``: renamed over it once the block ends
    without an error, removed if it raises.

    Parameters
    ----------
    path : Path
        The destination; its folder must exist.
    mode : {"wb", "w"}, default="wb"
    **open_kwargs
        Passed to ``open`` (``newline``, ``encoding`` for text).

    Yields
    ------
    stream : file object
    """
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        os.chmod(temporary, 0o666 & ~_umask())
        with os.fdopen(handle, mode, **open_kwargs) as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
