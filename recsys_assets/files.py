"""Local files: every write goes to a unique temporary name in the target's folder and is renamed into place,
and an OSError becomes one line that says what happened and what to do."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

# errno -> (cause, what to do)
OS_ERROR_ADVICE = {
    errno.ENOSPC: ("no space left on the device", "free some space or choose another folder"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or choose another folder"),
    errno.EROFS: ("the file system is read-only", "choose a writable folder"),
    errno.EACCES: ("permission denied", "make it writable for this user or choose another folder"),
    errno.EPERM: ("operation not permitted", "make it writable for this user or choose another folder"),
    errno.ENOTDIR: ("a file is in the way of a folder", "move that file or choose another folder"),
    errno.EEXIST: ("a file is in the way of a folder", "move that file or choose another folder"),
    errno.EISDIR: ("it is a folder, not a file", "name a file"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.ENAMETOOLONG: ("the name is too long for the file system", "use a shorter path"),
}


# the process's umask, for the permissions of new files
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def describe_os_error(error: OSError) -> str:
    """'<file>: <cause>; <what to do>' for an OSError (its own text where the errno is not a known one)."""
    where = f"{error.filename}: " if error.filename is not None else ""
    if error.errno in OS_ERROR_ADVICE:
        cause, advice = OS_ERROR_ADVICE[error.errno]
        return f"{where}{cause}; {advice}"
    return f"{where}{error.strerror or error}"


class FileError(OSError):
    """An OSError that reads as `describe_os_error` says: the file, the cause and what to do."""

    def __str__(self) -> str:
        return describe_os_error(self)


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", make_folder: bool = False, **open_args) -> Iterator[IO]:
    """An open file whose content replaces `path` only when the block ends without error: written to a unique
    temporary name in the same folder and renamed into place (readers see the old or the new bytes, never
    a part); on any error the temporary is removed. Not fsynced: safe against a killed process,
    not a power cut (fsync costs 4 ms a file here, 32 s for 8,000 emails). A path that exists and is not a
    regular file (a device such as /dev/stdout, a pipe) is written directly. `make_folder`: create the
    missing folders first. An OSError is a `FileError` naming `path`."""
    path = Path(os.path.realpath(path))  # through a symlink: the file it points to is replaced, not the link
    try:
        existing = _mode(path)
        if not stat.S_ISREG(existing):
            with open(path, mode, **open_args) as output:
                yield output
            return
        if make_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # names the file, or the folder that could not be made
        raise FileError(error.errno, error.strerror, error.filename or str(path)) from error
    try:
        # a short prefix: the temporary name must fit where the file's own name fits
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:16]}.", suffix=".partial")
    except OSError as error:
        raise FileError(error.errno, error.strerror, str(path)) from error
    try:
        with os.fdopen(descriptor, mode, **open_args) as output:
            yield output
        # a file keeps its permissions; a new one gets those open() would give it (mkstemp makes it private)
        os.chmod(temporary, stat.S_IMODE(existing) or 0o666 & ~_UMASK)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, FileError):
            raise FileError(error.errno, error.strerror, str(path)) from error
        raise


def _mode(path: Path) -> int:
    """The file's mode; a regular file's without permission bits for a path that does not exist yet."""
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        return stat.S_IFREG


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Replace `path`'s content with `data` in one rename, creating its folder (see `atomic_file`)."""
    with atomic_file(path, make_folder=True) as output:
        output.write(data)
