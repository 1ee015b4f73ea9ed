"""One run holds a home at a time: an flock on <home>/.lock, with a record of who holds it.

`recsys run` (and every command that writes a home) holds it exclusively; a Dagster step launched from
the UI or a sensor holds it shared while it runs (the local storage resource takes it), so such steps run
side by side but never while a `recsys run` writes the same home. The kernel releases an flock when its
process dies, so a stale lock never blocks.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recsys_assets.files import FileError

LOCK_FILE = ".lock"

# home (resolved) -> [descriptor, holds, exclusive] of the locks this process holds: a nested hold (the
# storage resource of a job that `recsys run` executes in-process) shares the process's lock
_held: dict[Path, list] = {}
_held_guard = threading.Lock()


class HomeInUse(RuntimeError):
    """Another process holds the home; the message names it and says what to do."""


@contextmanager
def hold_home(home: str | os.PathLike, command: str, exclusive: bool = True) -> Iterator[None]:
    """Hold `home` for the block (creating it); HomeInUse at once when another process holds it
    (exclusively, or at all for an exclusive hold)."""
    folder = Path(home).resolve()
    with _held_guard:
        if folder in _held:
            _held[folder][1] += 1
        else:
            _held[folder] = [_acquire(folder, command, exclusive), 1, exclusive]
    try:
        yield
    finally:
        with _held_guard:
            _held[folder][1] -= 1
            if not _held[folder][1]:
                descriptor, _, was_exclusive = _held.pop(folder)
                if was_exclusive:  # the record of a shared hold may be another holder's
                    os.ftruncate(descriptor, 0)
                os.close(descriptor)  # releases the flock


def _acquire(folder: Path, command: str, exclusive: bool) -> int:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise FileError(error.errno, error.strerror, error.filename or str(folder)) from error
    try:
        fcntl.flock(descriptor, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(descriptor)
        os.close(descriptor)
        raise HomeInUse(
            f"{folder} is in use by {holder}: wait for it to finish, or choose another home (--home, RECSYS_HOME)"
        ) from None
    if exclusive:  # shared holders leave the record empty: there may be several
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "since": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        }
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, (json.dumps(record) + "\n").encode("utf-8"), 0)
        remove_stale_temporaries(folder)
    return descriptor


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporaries that killed writers left (`atomic_file`'s `.<name>.<random>.partial`); called with
    the home held exclusively, so no writer is at work."""
    for temporary in folder.rglob(".*.partial"):
        temporary.unlink(missing_ok=True)


def _holder(descriptor: int) -> str:
    """Who holds the lock: the exclusive holder's record, else (no record, or one of a process that died
    without clearing it) the shared holders."""
    try:
        record = json.loads(os.pread(descriptor, 64 * 1024, 0))
        alive = record["host"] != socket.gethostname() or _running(record["pid"])
        if alive:
            return f"{record['command']} (pid {record['pid']} on {record['host']}, since {record['since']})"
    except (ValueError, KeyError, TypeError):
        pass
    return "a Dagster run (a step or a sensor tick, e.g. launched from the UI)"


def _running(pid: int) -> bool:
    """Whether a process `pid` runs on this host (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
