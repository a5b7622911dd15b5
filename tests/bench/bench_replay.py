"""Replay guard, in-process fallback: one nonce check at 1,000 and at 100,000 live nonces.

    .venv/bin/python tests/bench/bench_replay.py

Steady state of a sustained signed-request rate: a clock that advances one tick per
check and a TTL of N ticks, so exactly N nonces are live and each check expires one.
Each check is ``entities.replay.nonce_claim`` of a fresh nonce (the Django cache API on
the ``nonces`` alias, ``NonceMemoryCache``), beside the baseline in the same run: the
previous fallback (a dict behind a lock that scans every entry once it holds 10,000).
Prints the median of interleaved rounds in microseconds per check.

Target: a check at 100k live nonces within 2x of one at 1k.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["REDIS_URL"] = ""  # the in-process fallback is what is measured
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platos.settings_test")

SIZES = (1_000, 100_000)
CHECKS = 2_000  # per round
ROUNDS = 5


class Tick:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Baseline:
    """The fallback on main before this change (entities/replay.py), with the clock injected."""

    def __init__(self, clock) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}
        self._clock = clock

    def claim(self, key: str, ttl: int) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._seen) > 10_000:
                for k in [k for k, exp in self._seen.items() if exp <= now]:
                    del self._seen[k]
            exp = self._seen.get(key)
            if exp is not None and exp > now:
                return False
            self._seen[key] = now + ttl
            return True


def run_new(size: int) -> float:
    from django.core.cache import caches

    from entities.replay import nonce_claim

    cache = caches["nonces"]
    cache.clear()
    clock = Tick()
    cache._clock = clock
    for i in range(size):  # fill: exactly `size` live nonces from here on
        clock.now += 1
        nonce_claim(entity_id="e", nonce=f"fill-{i:012d}", ttl=size)
    assert len(cache) <= size + 1, len(cache)
    started = time.perf_counter()
    for i in range(CHECKS):
        clock.now += 1
        assert nonce_claim(entity_id="e", nonce=f"check-{i:012d}", ttl=size)
    elapsed = time.perf_counter() - started
    assert len(cache) <= size + 1, len(cache)  # expired ones were dropped
    return elapsed / CHECKS * 1e6


def run_baseline(size: int) -> float:
    clock = Tick()
    guard = Baseline(clock)
    for i in range(size):  # filled directly: through claim() the fill alone is quadratic
        clock.now += 1
        guard._seen[f"platos:entity-nonce:e:fill-{i:012d}"] = clock.now + size
    started = time.perf_counter()
    for i in range(CHECKS):
        clock.now += 1
        assert guard.claim(f"platos:entity-nonce:e:check-{i:012d}", size)
    return (time.perf_counter() - started) / CHECKS * 1e6


def main() -> None:
    import django

    django.setup()
    results: dict[tuple[str, int], list[float]] = {}
    for _ in range(ROUNDS):  # interleaved, so drift in machine load hits both alike
        for size in SIZES:
            results.setdefault(("new", size), []).append(run_new(size))
            results.setdefault(("baseline", size), []).append(run_baseline(size))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"nonce check, median of {ROUNDS} rounds of {CHECKS} checks (µs per check)")
    print(f"{'live nonces':>12} {'NonceMemoryCache':>17} {'baseline (main)':>16}")
    for size in SIZES:
        print(f"{size:>12,} {med[('new', size)]:>17.2f} {med[('baseline', size)]:>16.2f}")
    small, large = SIZES
    print(f"100k / 1k: NonceMemoryCache {med[('new', large)] / med[('new', small)]:.2f}x "
          f"(target <= 2x), baseline {med[('baseline', large)] / med[('baseline', small)]:.1f}x")
    print(f"NonceMemoryCache / baseline at 1k: {med[('new', small)] / med[('baseline', small)]:.2f}x")


if __name__ == "__main__":
    main()
