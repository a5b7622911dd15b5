"""Benchmark of rotate_message_key on PostgreSQL (not a test: run it by hand).

    python tests/bench/bench_rotation.py [--rows 200000] [--batch-size 4000]
        [--database-url postgres://postgres@127.0.0.1:5432/platos_rotation_bench]

Prints, in one run, for N rows of ~500 B plaintext (tests.testapp Note.body):
* the command's rows/s (its own timer, and end to end including process start),
* a naive ORM loop (``for m in Note.objects.all(): m.save()``) on a sample, scaled,
* the database's floor: one ``UPDATE ... SET body = body || ''`` over the N rows, no crypto,
* peak memory (ru_maxrss of the command's process) at N and at 4N rows (skip with --no-memory),
* two processes ``--shard 1/2`` and ``--shard 2/2`` in parallel against one process, end to end,
and the ratios against the targets (>= 20x naive, >= 0.5 of the floor as the median of
--runs runs, each against the floor measured just before it; 4N memory within 10% of N;
two shards >= 1.0x one process).
The database named in --database-url is created if needed and its Note table is emptied.

``--baseline-root /work/main`` also runs the command of another checkout (the design being
replaced) in the same run, interleaved with this one (the order alternates per run), on
the same freshly populated table, and prints this/baseline per run and its spread.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
K1 = "b7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5"
K2 = "5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"
ENC = "c0ffee00c0ffee00c0ffee00c0ffee00"
SUMMARY = re.compile(r"rotated (\d+) rows in ([\d.]+)s")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=4000, help="default: the command's default")
    parser.add_argument("--naive-sample", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3, help="floor + command runs; the median ratio is read")
    parser.add_argument("--no-memory", action="store_true", help="skip the 4N memory run")
    parser.add_argument("--baseline-root", type=Path, help="another checkout whose command runs interleaved")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/platos_rotation_bench"
    )
    return parser.parse_args()


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password,
        dbname="postgres", autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    # The benchmark's own database: its rows (and so its key canary) are thrown away on
    # every run, so the canary of a previous run (perhaps rotated to K2) goes too.
    with psycopg.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password,
        dbname=name, autocommit=True,
    ) as conn:
        conn.execute("DROP TABLE IF EXISTS platos_keycanary")
        if conn.execute("SELECT to_regclass('django_migrations')").fetchone()[0]:
            conn.execute("DELETE FROM django_migrations WHERE app = 'platos'")


def base_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLATOS_", "ENCRYPTION_"))}
    env.update(
        DATABASE_URL=url, DJANGO_SETTINGS_MODULE="platos.settings_test", REDIS_URL="",
        PLATOS_MESSAGE_ENCRYPTION_KEY=K1, ENCRYPTION_KEY=ENC, PYTHONUNBUFFERED="1",
    )
    return env


def set_keyrings(rings) -> None:
    """Through override_settings, so the envelope's keyring cache hears of it (setting_changed)."""
    from django.test.utils import override_settings

    override_settings(PLATOS_KEYRINGS=rings).enable()


def populate(n: int) -> None:
    """N rows under K1, ~500 B of text each (a few hundred distinct envelopes, repeated)."""
    from django.db import connection

    from platos.core.envelope import encrypt
    from platos.core.keys import load_keyrings
    from platos.models import KeyCanary
    from platos.rotation import canary_ensure

    set_keyrings(load_keyrings({"PLATOS_MESSAGE_ENCRYPTION_KEY": K1, "ENCRYPTION_KEY": ENC}))
    tokens = [
        encrypt(f"message {i}: " + ("lorem ipsum dolor sit amet " * 19)[: 500 - 12], keyring="messages",
                context="testapp.Note.body")
        for i in range(256)
    ]
    with connection.cursor() as cur:
        cur.execute("TRUNCATE testapp_note RESTART IDENTITY")
        cur.execute(
            "INSERT INTO testapp_note (label, body) "
            "SELECT 'bench', (%s::text[])[1 + (i %% 256)] FROM generate_series(1, %s) AS i",
            [tokens, n],
        )
        cur.execute("VACUUM ANALYZE testapp_note")
    KeyCanary.objects.all().delete()
    canary_ensure()


def sql_floor(n: int) -> float:
    from django.db import connection

    with connection.cursor() as cur:
        t = time.perf_counter()
        cur.execute("UPDATE testapp_note SET body = body || ''")
        elapsed = time.perf_counter() - t
        cur.execute("VACUUM ANALYZE testapp_note")
    return n / elapsed


def run_command(url: str, batch_size: int, *extra: str, root: Path = ROOT) -> tuple[float, float, int, str]:
    """(rows/s by the command's own timer, rows/s end to end, peak RSS in KiB, output)."""
    env = {**base_env(url), "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT": K2}
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "rotate_message_key", "--batch-size", str(batch_size), *extra],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"rotate_message_key failed ({proc.returncode}):\n{output}")
    rotated, seconds = SUMMARY.search(output).groups()
    return int(rotated) / float(seconds), int(rotated) / wall, usage.ru_maxrss, output


def run_shards(url: str, batch_size: int, n: int, count: int = 2, root: Path = ROOT) -> float:
    """Rows/s end to end of ``count`` shard processes started together (all rows / wall time)."""
    env = {**base_env(url), "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT": K2}
    t = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "rotate_message_key", "--batch-size", str(batch_size),
             "--shard", f"{k}/{count}"],
            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for k in range(1, count + 1)
    ]
    outputs = [p.communicate()[0] for p in procs]
    wall = time.perf_counter() - t
    for p, output in zip(procs, outputs, strict=True):
        if p.returncode != 0:
            sys.exit(f"rotate_message_key --shard failed ({p.returncode}):\n{output}")
    rotated = sum(int(SUMMARY.search(o).group(1)) for o in outputs)
    if rotated < n:
        sys.exit(f"the shards rotated {rotated} of {n} rows")
    return rotated / wall


def naive_loop(sample: int) -> float:

    from platos.core.keys import load_keyrings
    from tests.testapp.models import Note

    set_keyrings(load_keyrings(
        {"PLATOS_MESSAGE_ENCRYPTION_KEY": K1, "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT": K2, "ENCRYPTION_KEY": ENC}
    ))
    t = time.perf_counter()
    done = 0
    for m in Note.objects.all()[:sample]:
        m.save()
        done += 1
    return done / (time.perf_counter() - t)


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url)
    os.environ.update(base_env(args.database_url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    n = args.rows
    print(f"PostgreSQL, {n} rows of ~500 B, batch size {args.batch_size}, {os.cpu_count()} CPUs")

    roots = {"this": ROOT}
    if args.baseline_root:
        roots["baseline"] = args.baseline_root.resolve()
        print(f"baseline: the command of {roots['baseline']}, interleaved (order alternates per run)")
    ratios: dict[str, list[float]] = {name: [] for name in roots}
    wall_ratios: dict[str, list[float]] = {name: [] for name in roots}
    rates: dict[str, list[float]] = {name: [] for name in roots}
    for i in range(args.runs):
        populate(n)
        floor = sql_floor(n)
        print(f"run {i + 1}: SQL floor (UPDATE ... SET body = body || ''): {floor:>10,.0f} rows/s")
        order = list(roots) if i % 2 == 0 else list(roots)[::-1]
        for name in order:
            populate(n)  # the floor's UPDATE left dead tuples; start the command from the same table
            rate, wall_rate, rss, _ = run_command(args.database_url, args.batch_size, root=roots[name])
            if name == "this":
                rss_n = rss
            tag = f"rotate_message_key{'' if name == 'this' else ' [baseline]'}"
            print(f"run {i + 1}: {tag} (own timer):   {rate:>10,.0f} rows/s  = {rate / floor:.2f} of the floor")
            print(f"run {i + 1}: {tag} (end to end):  {wall_rate:>10,.0f} rows/s  = "
                  f"{wall_rate / floor:.2f} of the floor")
            ratios[name].append(rate / floor)
            wall_ratios[name].append(wall_rate / floor)
            rates[name].append(rate)
        if args.baseline_root:
            print(f"run {i + 1}: this / baseline (own timer): {rates['this'][-1] / rates['baseline'][-1]:.2f}x")
    rate = rates["this"][-1]
    naive = naive_loop(min(args.naive_sample, n))
    print(f"naive ORM loop (sample of {min(args.naive_sample, n)}, scaled):      {naive:>10,.0f} rows/s")

    shards: dict[str, tuple[float, float]] = {}
    for name in roots:
        populate(n)
        one = run_command(args.database_url, args.batch_size, root=roots[name])[1]
        populate(n)
        two = run_shards(args.database_url, args.batch_size, n, root=roots[name])
        shards[name] = (one, two)
        tag = "" if name == "this" else " [baseline]"
        print(f"one process, end to end{tag}:                       {one:>10,.0f} rows/s")
        print(f"--shard 1/2 + 2/2 in parallel, end to end{tag}:     {two:>10,.0f} rows/s")
    one, two = shards["this"]

    if not args.no_memory:
        populate(4 * n)
        rate_4n, _, rss_4n, _ = run_command(args.database_url, args.batch_size)
        print(f"rotate_message_key at 4N ({4 * n} rows):        {rate_4n:>10,.0f} rows/s")
        print(f"peak memory of the command: N {rss_n / 1024:.1f} MiB, 4N {rss_4n / 1024:.1f} MiB")

    def median(values):
        return sorted(values)[len(values) // 2]

    def spread(values):
        return " ".join(f"{v:.2f}" for v in values)

    print()
    print(f"command / naive loop:  {rate / naive:6.1f}x   (target >= 20x: {'PASS' if rate >= 20 * naive else 'MISS'})")
    for name in roots:
        tag = "" if name == "this" else " [baseline]"
        m, wm = median(ratios[name]), median(wall_ratios[name])
        print(f"command / SQL floor{tag}:   {m:6.2f}    median of {spread(ratios[name])}"
              f" (target >= 0.5: {'PASS' if m >= 0.5 else 'MISS'})")
        print(f"  end to end / floor{tag}:  {wm:6.2f}    median of {spread(wall_ratios[name])}"
              f" (target >= 0.5: {'PASS' if wm >= 0.5 else 'MISS'})")
        o, t = shards[name]
        print(f"2 shards / 1 process{tag}:  {t / o:6.2f}x   (target >= 1.0x: {'PASS' if t >= o else 'MISS'})")
    if args.baseline_root:
        rel = [a / b for a, b in zip(rates["this"], rates["baseline"], strict=True)]
        print(f"this / baseline (own timer, per run):  median {median(rel):.2f}x of {spread(rel)}")
    if not args.no_memory:
        growth = rss_4n / rss_n - 1
        verdict = "PASS" if abs(growth) <= 0.10 else "MISS"
        print(f"memory 4N vs N:        {growth:+6.1%}   (target within 10%: {verdict})")

    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE testapp_note")


if __name__ == "__main__":
    main()
