"""Pacing a send: retries with exponential backoff and jitter, and a token bucket shared by threads (docs/sending.md).

Pure: the clock, the sleep and the random numbers are parameters, so tests run them on a fake clock.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def backoff_delays(
    attempts: int, base_seconds: float, cap_seconds: float = 20.0, rng: random.Random | None = None
) -> Iterator[float]:
    """`attempts - 1` waits between attempts: exponential backoff with full jitter (uniform in [0, base * 2**i])."""
    rng = rng or random.Random()  # nosec B311: backoff jitter, not security
    for attempt in range(attempts - 1):
        yield rng.uniform(0.0, min(cap_seconds, base_seconds * 2**attempt))


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` calls; before the i-th retry a wait uniform in [0, min(cap, base * 2**i)] seconds."""

    attempts: int = 5
    base_seconds: float = 1.0
    cap_seconds: float = 60.0

    def __post_init__(self):
        if self.attempts < 1 or self.base_seconds < 0 or self.cap_seconds < 0:
            raise ValueError(f"a retry policy needs attempts >= 1 and waits >= 0, not {self}")


def call_with_retries(
    call: Callable[[], T],
    retry_on: tuple[type[BaseException], ...],
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], object] = time.sleep,
    rng: random.Random | None = None,
) -> tuple[T, int]:
    """`(call(), attempts made)`, calling again after a backoff while it raises one of `retry_on`.

    An error of another kind, or of `retry_on` on the last attempt, propagates with the number of attempts made
    as its `attempts` attribute (what the delivery ledger records).
    """
    delays = backoff_delays(policy.attempts, policy.base_seconds, policy.cap_seconds, rng)
    attempt = 1
    while True:
        try:
            return call(), attempt
        except retry_on as error:
            delay = next(delays, None)
            if delay is None:
                error.attempts = attempt
                raise
        except BaseException as error:
            error.attempts = attempt
            raise
        sleep(delay)
        attempt += 1


class RateLimiter:
    """A token bucket of `per_second` tokens a second holding at most `burst`; `acquire` takes one, waiting when
    the bucket is empty. Thread-safe: threads sharing one limiter share its rate, in the order they asked."""

    def __init__(
        self,
        per_second: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ):
        if per_second <= 0 or burst < 1:
            raise ValueError(f"a rate limiter needs per_second > 0 and burst >= 1, not {per_second} and {burst}")
        self.per_second, self.burst = per_second, burst
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = burst
        self._updated = clock()

    def acquire(self) -> float:
        """Take a token; returns the seconds waited for it (0 when one was there)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.per_second) - 1
            self._updated = now
            # a negative balance is the queue of threads ahead: each reserves its slot, then sleeps unlocked
            wait = max(0.0, -self._tokens / self.per_second)
        if wait:
            self._sleep(wait)
        return wait
