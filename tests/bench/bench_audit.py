"""Audit console latency at 10,000 and 1,000,000 rows (PostgreSQL), in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python tests/bench/bench_audit.py

Creates its own database (``platos_bench_audit``, dropped at the end), migrates it,
fills rows with INSERT ... SELECT generate_series (hashes computed in SQL with
sha256(); the benchmark is about read latency, so the chain is well-formed but not
the application's canonical hash), and prints the median latency of:

- API, project admin (one project of 20): first page, and a page deep in the cursor
  (positioned at 80% of that admin's rows);
- admin changelist filtered on one action (1 row in 6): first page, and page 30.

Target: every latency at 1M rows <= 2x the same at 10k rows.
"""

from __future__ import annotations

import base64
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_DB = "platos_bench_audit"
SERVER = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
if not SERVER.startswith("postgres"):
    sys.exit("bench_audit needs PostgreSQL: set DATABASE_URL=postgres://user@host:port/anydb")
os.environ["DATABASE_URL"] = SERVER.rsplit("/", 1)[0] + "/" + BENCH_DB
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platos.settings_test")

ACTIONS = ["secret.read", "secret.read", "secret.write", "provider_key.rotate", "entity.auth.failed",
           "secret.reveal"]
PROJECTS = 20
RUNS = 15

FILL = """
INSERT INTO audit_auditevent (ts, action, actor, key, scope, project, subject_type, subject_id, success, reason,
                              request_id, client_ip, user_agent, extra, prev_hash, row_hash)
SELECT timestamptz '2026-01-01' + n * interval '1 second',
       (ARRAY{actions})[1 + n %% {n_actions}],
       'user' || (n %% 97),
       'KEY_' || (n %% 53),
       'p' || (n %% {projects}) || '/' || (CASE WHEN n %% 2 = 0 THEN 'prod' ELSE 'staging' END),
       'p' || (n %% {projects}),
       '', '', n %% 11 <> 0, '', '', '10.0.0.1', 'bench', '{{}}',
       encode(sha256(convert_to((n - 1)::text, 'UTF8')), 'hex'),
       encode(sha256(convert_to(n::text, 'UTF8')), 'hex')
FROM generate_series(%s, %s) AS n
"""


def server_conn():
    import psycopg

    conn = psycopg.connect(SERVER, autocommit=True)
    return conn


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
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from secrets_app.models import Project, ProjectMembership
    from secrets_app.tokens.services import token_create

    setup_test_environment()
    call_command("migrate", verbosity=0)
    users = get_user_model()
    root = users.objects.create_superuser("root", "root@example.com", "x")
    ada = users.objects.create_user("ada")
    project = Project.objects.create(slug="p3", name="p3")
    ProjectMembership.objects.create(user=ada, project=project, role="admin")
    token = token_create(user=ada, name="bench")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    admin = Client()
    admin.force_login(root)
    sql = FILL.format(actions="[" + ",".join(f"'{a}'" for a in ACTIONS) + "]", n_actions=len(ACTIONS),
                      projects=PROJECTS)

    def fill(first: int, last: int) -> None:
        start = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(sql, [first, last])
            cur.execute("VACUUM ANALYZE audit_auditevent")
        print(f"  filled rows {first:,}..{last:,} in {time.perf_counter() - start:.1f}s", flush=True)

    def deep_cursor() -> str:
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM audit_auditevent WHERE project = 'p3'")
            (n,) = cur.fetchone()
            cur.execute("SELECT ts FROM audit_auditevent WHERE project = 'p3' ORDER BY ts DESC, id DESC "
                        "OFFSET %s LIMIT 1", [int(n * 0.8)])
            (ts,) = cur.fetchone()
        return base64.b64encode(urlencode({"p": str(ts)}).encode()).decode()

    def get(client, url, params):
        response = client.get(url, params)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        if url.startswith("/agent"):
            assert len(response.json()["results"]) == 50
        return response

    def measure() -> dict[str, float]:
        cursor = deep_cursor()
        cases = {
            "API first page (project admin)": (api, "/agent/v1/monitoring/admin-audit", {}),
            "API deep cursor page (80%)": (api, "/agent/v1/monitoring/admin-audit", {"cursor": cursor}),
            "admin changelist ?action= first page": (admin, "/admin/audit/auditevent/", {"action": "secret.write"}),
            "admin changelist ?action= page 30": (admin, "/admin/audit/auditevent/",
                                                   {"action": "secret.write", "p": "30"}),
        }
        return {name: median_ms(lambda c=c, u=u, p=p: get(c, u, p)) for name, (c, u, p) in cases.items()}

    print("filling 10,000 rows")
    fill(1, 10_000)
    small = measure()
    print("filling to 1,000,000 rows")
    fill(10_001, 1_000_000)
    big = measure()
    print(f"\nmedian of {RUNS} requests (ms)")
    print(f"{'case':<40}{'10k':>10}{'1M':>10}{'1M/10k':>10}")
    worst = 0.0
    for name in small:
        ratio = big[name] / small[name]
        worst = max(worst, ratio)
        print(f"{name:<40}{small[name]:>10.1f}{big[name]:>10.1f}{ratio:>10.2f}")
    print(f"\nworst ratio {worst:.2f} (target <= 2.0): {'OK' if worst <= 2.0 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
