"""Dashboard latency at 10,000 and 1,000,000 audit rows (PostgreSQL), in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python tests/bench/bench_dashboard.py

Creates its own database (``platos_bench_dashboard``, dropped at the end), migrates it, fills
audit rows with INSERT ... SELECT generate_series spread evenly over the last 365 days (so about
1/12 of them fall in the dashboard's 30-day window), and prints the median time of
``dashboard_context`` (all its queries) and of its three audit aggregates alone, at both sizes.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("PLATOS_BENCH_DB", "platos_bench_dashboard")
SERVER = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
if not SERVER.startswith("postgres"):
    sys.exit("bench_dashboard needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/anydb")
os.environ["DATABASE_URL"] = SERVER.rsplit("/", 1)[0] + "/" + BENCH_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platos.settings_test")

ACTIONS = ["secret.read", "secret.read", "secret.write", "provider_key.rotate", "entity.auth.failed",
           "secret.reveal"]
RUNS = 9
SPAN_SECONDS = 365 * 86400

FILL = """
INSERT INTO audit_auditevent (ts, action, actor, key, scope, project, subject_type, subject_id, success, reason,
                              request_id, client_ip, user_agent, extra, prev_hash, row_hash)
SELECT now() - ((n::bigint * 7919) %% {span}) * interval '1 second',
       (ARRAY{actions})[1 + n %% {n_actions}],
       'user' || (n %% 97), 'KEY_' || (n %% 53), 'p' || (n %% 20) || '/prod', 'p' || (n %% 20),
       '', '', n %% 11 <> 0, '', '', '10.0.0.1', 'bench', '{{}}',
       encode(sha256(convert_to((n - 1)::text, 'UTF8')), 'hex'),
       encode(sha256(convert_to(n::text, 'UTF8')), 'hex')
FROM generate_series(%s, %s) AS n
"""


def server_conn():
    import psycopg

    return psycopg.connect(SERVER, autocommit=True)


def median_ms(fn) -> float:
    fn()  # warm up
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    with server_conn() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    try:
        run()
    finally:
        from django.db import connections

        connections.close_all()
        with server_conn() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")


def run() -> None:
    import datetime as dt

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from platos import dashboard

    call_command("migrate", run_syncdb=True, verbosity=0)  # syncdb: the test settings' testapp has no migrations
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    sql = FILL.format(actions="[" + ",".join(f"'{a}'" for a in ACTIONS) + "]", n_actions=len(ACTIONS),
                      span=SPAN_SECONDS)

    def fill(first: int, last: int) -> None:
        start = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(sql, [first, last])
            cur.execute("VACUUM ANALYZE audit_auditevent")
        print(f"  filled rows {first:,}..{last:,} in {time.perf_counter() - start:.1f}s", flush=True)

    def audit_only() -> None:
        today = timezone.localdate()
        days = [today - dt.timedelta(days=dashboard.DAYS - 1 - i) for i in range(dashboard.DAYS)]
        since = timezone.make_aware(dt.datetime.combine(days[0], dt.time()))
        dashboard._per_day(action="secret.read", since=since, days=days, split_success=True)
        dashboard._per_day(action="entity.auth.failed", since=since, days=days, split_success=False)
        dashboard._top_keys(since=since, first_day=days[0])

    def measure() -> dict[str, float]:
        return {"dashboard_context (all queries)": median_ms(lambda: dashboard.dashboard_context(user=root)),
                "the 3 audit aggregates": median_ms(audit_only)}

    print("filling 10,000 rows")
    fill(1, 10_000)
    small = measure()
    print("filling to 1,000,000 rows")
    fill(10_001, 1_000_000)
    big = measure()
    print(f"\nmedian of {RUNS} runs (ms)")
    print(f"{'case':<36}{'10k':>10}{'1M':>10}{'1M/10k':>10}")
    for name in small:
        print(f"{name:<36}{small[name]:>10.1f}{big[name]:>10.1f}{big[name] / small[name]:>10.2f}")


if __name__ == "__main__":
    main()
