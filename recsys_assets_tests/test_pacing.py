"""Retries with backoff and the token bucket, on a fake clock."""

from __future__ import annotations

import random
import threading

import pytest

from recsys_assets.delivery.pacing import RateLimiter, RetryPolicy, call_with_retries


class FakeClock:
    """A clock that moves only when slept on."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)


class Flaky:
    """Raises `errors` in turn, then returns "ok"."""

    def __init__(self, *errors: Exception):
        self.errors, self.calls = list(errors), 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_a_transient_error_is_retried_after_a_jittered_exponential_wait():
    clock, call = FakeClock(), Flaky(TimeoutError(), TimeoutError())
    policy = RetryPolicy(attempts=5, base_seconds=1.0, cap_seconds=60.0)
    assert call_with_retries(call, (TimeoutError,), policy, clock.sleep, random.Random(7)) == ("ok", 3)
    expected = random.Random(7)
    assert clock.slept == [expected.uniform(0, 1.0), expected.uniform(0, 2.0)]


def test_waits_never_exceed_the_cap():
    clock = FakeClock()
    call = Flaky(*[TimeoutError() for _ in range(9)])
    call_with_retries(call, (TimeoutError,), RetryPolicy(attempts=10, base_seconds=1.0, cap_seconds=3.0), clock.sleep)
    assert len(clock.slept) == 9 and max(clock.slept) <= 3.0


def test_the_last_transient_error_propagates_with_the_attempts_made():
    clock, call = FakeClock(), Flaky(*[TimeoutError(str(i)) for i in range(3)])
    with pytest.raises(TimeoutError, match="2") as raised:
        call_with_retries(call, (TimeoutError,), RetryPolicy(attempts=3), clock.sleep)
    assert raised.value.attempts == 3 and call.calls == 3 and len(clock.slept) == 2


def test_an_error_not_to_retry_propagates_at_once():
    clock, call = FakeClock(), Flaky(TimeoutError(), ValueError("rejected"))
    with pytest.raises(ValueError) as raised:
        call_with_retries(call, (TimeoutError,), RetryPolicy(attempts=5), clock.sleep)
    assert raised.value.attempts == 2 and call.calls == 2


def test_a_policy_needs_one_attempt_at_least():
    with pytest.raises(ValueError, match="attempts >= 1"):
        RetryPolicy(attempts=0)


def test_the_bucket_spaces_messages_at_the_rate_after_its_burst():
    clock = FakeClock()
    limiter = RateLimiter(per_second=4.0, burst=2.0, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(5)]
    # two from the full bucket, then one every 1/4 s (the clock does not move, so each waits behind the others)
    assert waits == pytest.approx([0.0, 0.0, 0.25, 0.5, 0.75])


def test_the_bucket_refills_with_time_up_to_its_burst():
    clock = FakeClock()
    limiter = RateLimiter(per_second=2.0, burst=3.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
    clock.now = 100.0  # long idle: the bucket holds 3, not 200
    assert [limiter.acquire() for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 0.5])


def test_threads_sharing_a_limiter_share_its_rate():
    clock = FakeClock()
    limiter = RateLimiter(per_second=10.0, clock=clock, sleep=clock.sleep)
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(25)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 100 tokens at 10 a second, one in the bucket: the reservations are 0.1 s apart, 0 to 9.9 s
    assert sorted(clock.slept) == pytest.approx([i / 10 for i in range(1, 100)])


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError, match="per_second > 0"):
        RateLimiter(per_second=0)
