"""Benchmark of rotate_message_key on PostgreSQL (not a test: run it by hand).

    python tests/bench/bench_rotation.py [--rows 200000] [--batch-size 4000]
        [--database-url postgres://postgres@127.0.0.1:5432/platos_rotation_bench]

Prints, in one run, for N rows of ~500 B plaintext (tests.testapp Note.body):
* the command's rows/s (its own timer, and end to end including process start),
* a naive ORM loop (``for m in Note.objects.all(): m.save()``) on a sample, scaled,
* the database's floor: one ``UPDATE ... SET body = body || ''`` over the N rows, no crypto,
* peak memory (ru_maxrss of the command's process) at N and at 4N rows,
and the ratios against the targets (>= 20x naive, >= 1/3 of the floor, 4N memory within 10% of N).
The database named in --database-url is created if needed and its Note table is emptied.
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


def populate(n: int) -> None:
    """N rows under K1, ~500 B of text each (a few hundred distinct envelopes, repeated)."""
    from django.conf import settings
    from django.db import connection

    from platos.core.envelope import encrypt
    from platos.core.keys import load_keyrings
    from platos.models import KeyCanary
    from platos.rotation import canary_ensure

    settings.PLATOS_KEYRINGS = load_keyrings({"PLATOS_MESSAGE_ENCRYPTION_KEY": K1, "ENCRYPTION_KEY": ENC})
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


def run_command(url: str, batch_size: int) -> tuple[float, float, int, str]:
    """(rows/s by the command's own timer, rows/s end to end, peak RSS in KiB, output)."""
    env = {**base_env(url), "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT": K2}
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "rotate_message_key", "--batch-size", str(batch_size)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"rotate_message_key failed ({proc.returncode}):\n{output}")
    rotated, seconds = SUMMARY.search(output).groups()
    return int(rotated) / float(seconds), int(rotated) / wall, usage.ru_maxrss, output


def naive_loop(sample: int) -> float:
    from django.conf import settings

    from platos.core.keys import load_keyrings
    from tests.testapp.models import Note

    settings.PLATOS_KEYRINGS = load_keyrings(
        {"PLATOS_MESSAGE_ENCRYPTION_KEY": K1, "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT": K2, "ENCRYPTION_KEY": ENC}
    )
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

    populate(n)
    floor = sql_floor(n)
    print(f"SQL floor (UPDATE ... SET body = body || ''):   {floor:>10,.0f} rows/s")
    rate, wall_rate, rss_n, _ = run_command(args.database_url, args.batch_size)
    print(f"rotate_message_key (own timer):                {rate:>10,.0f} rows/s")
    print(f"rotate_message_key (end to end, with startup): {wall_rate:>10,.0f} rows/s")
    naive = naive_loop(min(args.naive_sample, n))
    print(f"naive ORM loop (sample of {min(args.naive_sample, n)}, scaled):      {naive:>10,.0f} rows/s")

    populate(4 * n)
    rate_4n, _, rss_4n, _ = run_command(args.database_url, args.batch_size)
    print(f"rotate_message_key at 4N ({4 * n} rows):        {rate_4n:>10,.0f} rows/s")
    print(f"peak memory of the command: N {rss_n / 1024:.1f} MiB, 4N {rss_4n / 1024:.1f} MiB")

    with_db = "PASS" if rate >= floor / 3 else "MISS"
    print()
    print(f"command / naive loop:  {rate / naive:6.1f}x   (target >= 20x: {'PASS' if rate >= 20 * naive else 'MISS'})")
    print(f"command / SQL floor:   {rate / floor:6.2f}    (target >= 0.33: {with_db})")
    growth = rss_4n / rss_n - 1
    print(f"memory 4N vs N:        {growth:+6.1%}   (target within 10%: {'PASS' if abs(growth) <= 0.10 else 'MISS'})")

    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE testapp_note")


if __name__ == "__main__":
    main()
