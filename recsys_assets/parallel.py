"""Process-parallel map over chunks, for the CPU-bound steps (sentiment, email rendering)."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")


def resolve_workers(workers: int) -> int:
    """0 means one worker per core."""
    return workers or os.cpu_count() or 1


def map_chunks(
    function: Callable[[Chunk], Result],
    chunks: Sequence[Chunk],
    workers: int,
    initializer: Callable[[], object] | None = None,
) -> list[Result]:
    """`[function(c) for c in chunks]`, on a process pool when more than one worker and chunk.

    `function` and `initializer` must be importable module-level functions. The pool uses the
    forkserver start method: forking a process that runs threads (Dagster's) can deadlock a child.
    """
    return list(imap_chunks(function, chunks, min(resolve_workers(workers), len(chunks)), initializer))


def imap_chunks(
    function: Callable[[Chunk], Result],
    chunks: Iterable[Chunk],
    workers: int,
    initializer: Callable[[], object] | None = None,
) -> Iterator[Result]:
    """Like `map_chunks`, yielding results in order as they come, with at most 2 x workers chunks in flight."""
    workers = resolve_workers(workers)
    if workers <= 1:
        yield from map(function, chunks)
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, initializer=initializer, mp_context=context) as pool:
        pending = deque()
        for chunk in chunks:
            pending.append(pool.submit(function, chunk))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def split_evenly(length: int, workers: int, max_chunk: int) -> list[slice]:
    """Slices covering range(length): at least one per worker, none longer than max_chunk."""
    size = max(1, min(max_chunk, -(-length // max(resolve_workers(workers), 1))))
    return [slice(start, min(start + size, length)) for start in range(0, length, size)]
