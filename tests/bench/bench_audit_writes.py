"""Audited secret reads per second under concurrency (PostgreSQL), beside the same reads unaudited.

    .venv/bin/python tests/bench/bench_audit_writes.py \\
        --database-url postgres://postgres@127.0.0.1:5432/platos_bench_audit_writes [--seconds 10]

Creates (if needed) and migrates the named database, one project with one environment
and one variable, then, for P in 1, 4 and 16 client processes, reads that variable as
fast as the P processes can for --seconds each:

- audited: ``SecretsService.read`` (one ``secret.read`` audit row per read, in the
  read's transaction),
- unaudited: ``ScopedEnvService.get`` (the same query and decryption, no audit row).

The two kinds alternate in --rounds interleaved rounds (so a noisy neighbour slows both
alike); the median of each is printed with the ratio audited / unaudited. Target: at 16
clients >= 0.5. Afterwards ``verify_audit_chain`` must report the chain intact.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
VALUE = "bench-secret-value-0123456789"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/platos_bench_audit_writes")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,4,16")
    return parser.parse_args()


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                         password=parts.password, dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup(url: str) -> None:
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="platos.settings_test", REDIS_URL="")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    from secrets_app.models import Environment, EnvironmentVariable, Project

    project, _ = Project.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    env, _ = Environment.objects.get_or_create(project=project, slug="production")
    if not EnvironmentVariable.objects.filter(environment=env, name="BENCH_KEY").exists():
        EnvironmentVariable.objects.create(environment=env, name="BENCH_KEY", value=VALUE)


def client(kind: str, seconds: float, start_at: float, results) -> None:
    from django.db import connections

    from secrets_app.models import Environment
    from secrets_app.services.readers import ScopedEnvService, SecretsService

    connections.close_all()  # never share the parent's connection
    env = Environment.objects.select_related("project").get(project__slug="bench", slug="production")
    if kind == "audited":
        def read():
            return SecretsService.read(key="BENCH_KEY", scope=env, actor="system:bench", purpose="bench")
    else:
        def read():
            return ScopedEnvService.get(environment=env, name="BENCH_KEY")
    assert str(read()) == VALUE or kind == "audited"
    while time.time() < start_at:
        time.sleep(0.001)
    n, deadline = 0, start_at + seconds
    while time.time() < deadline:
        read()
        n += 1
    results.put(n)
    connections.close_all()


def measure(kind: str, clients: int, seconds: float) -> float:
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    start_at = time.time() + 0.5 + 0.05 * clients
    procs = [ctx.Process(target=client, args=(kind, seconds, start_at, results)) for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(results.get(timeout=seconds + 120) for _ in procs)
    for p in procs:
        p.join()
        if p.exitcode != 0:
            sys.exit(f"a {kind} client failed (exit {p.exitcode})")
    return total / seconds


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url)
    setup(args.database_url)
    from audit.selectors import audit_chain_verify

    counts = [int(c) for c in args.clients.split(",")]
    print(f"PostgreSQL, {os.cpu_count()} CPUs, {args.rounds} interleaved rounds of {args.seconds}s; reads/s\n")
    rates: dict[tuple[str, int], list[float]] = {}
    for r in range(args.rounds):
        for p in counts:
            for kind in ("audited", "unaudited"):
                rate = measure(kind, p, args.seconds)
                rates.setdefault((kind, p), []).append(rate)
                print(f"round {r + 1}: P={p:>2} {kind:>9}: {rate:>8,.0f} reads/s", flush=True)
    print(f"\n{'P':>3} {'audited':>10} {'unaudited':>10} {'ratio':>7}")
    for p in counts:
        a = statistics.median(rates[("audited", p)])
        u = statistics.median(rates[("unaudited", p)])
        verdict = f"  (target >= 0.5: {'PASS' if a / u >= 0.5 else 'MISS'})" if p == 16 else ""
        print(f"{p:>3} {a:>10,.0f} {u:>10,.0f} {a / u:>6.2f}x{verdict}")
    report = audit_chain_verify()
    print(f"\nverify_audit_chain: {'intact' if report.ok else 'BROKEN: ' + report.problem}, {report.rows} rows")


if __name__ == "__main__":
    main()
