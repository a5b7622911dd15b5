"""Benchmark: real HTTP through gunicorn (2 workers, gunicorn.conf.py) on PostgreSQL + Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/platos REDIS_URL=redis://127.0.0.1:6379/1 \
        .venv/bin/python tests/bench/bench_http.py [--seconds 20] [--port N]

It creates its own database (``<name>_bench_http``, dropped at the end), migrates it,
collects static files, writes the rows, starts gunicorn on a free loopback port with
``tests.bench.http_settings`` (production settings plus a trivial authenticated DRF
view, the baseline) and drives it on 127.0.0.1 only with a bounded load generator
(``wrk`` when installed, else a Python one; fixed connections, fixed duration):

* baseline: ``GET /bench/baseline/`` (``Bearer plt_…`` API token + IsAuthenticated, returns ``{"ok": true}``)
* whoami: ``GET /agent/v1/entity/whoami`` with the entity bearer credential
* env-vars: the list of one environment's 20 variables (metadata, no decryption)
* messages: 100 messages of 2 KB (``?limit=100``, 100 decryptions)

Cases are interleaved, 3 rounds of ``--seconds`` each. Prints req/s, p50, p99 and errors
per case (medians over the rounds) and each case's ratio to the baseline of its round.
Targets: whoami >= 0.6x, env-vars >= 0.4x, messages >= 0.25x, 0 errors.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from http_load import LoadResult, python_load, wrk_load  # noqa: E402

TARGETS = {"whoami": 0.6, "env-vars": 0.4, "messages": 0.25}
ROUNDS, CONNECTIONS, WORKERS = 3, 4, 2


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(database_url: str, static_root: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "ENCRYPTION_KEY", "PLATOS_", "DATABASE_URL", "WEB_CONCURRENCY"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.bench.http_settings", DJANGO_READ_DOT_ENV_FILE="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50), ENCRYPTION_KEY=secrets.token_hex(16),
        PLATOS_MESSAGE_ENCRYPTION_KEY=secrets.token_hex(16), DATABASE_URL=database_url,
        DJANGO_ALLOWED_HOSTS="127.0.0.1", PLATOS_BEHIND_TLS_PROXY="true", DJANGO_STATIC_ROOT=static_root,
        DJANGO_LOG_LEVEL="WARNING",
    )
    return env


def _make_rows() -> dict[str, dict[str, str]]:
    """Runs in this process (settings from os.environ): the rows, and each case's request."""
    import django

    django.setup()
    import random
    import string

    from django.contrib.auth import get_user_model

    from entities.services import entity_create
    from messages_app import services as messages
    from secrets_app.models import Environment, Project, ProjectMembership
    from secrets_app.services import env_var_create
    from secrets_app.tokens.services import token_create

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", secrets.token_urlsafe(12))
    _, token = token_create(user=user, name="bench")
    project = Project.objects.create(slug="bench", name="Bench")
    environment = Environment.objects.create(project=project, slug="production")
    ProjectMembership.objects.create(user=user, project=project, role="admin")
    for i in range(20):
        env_var_create(environment=environment, name=f"BENCH_VAR_{i:02d}", value=secrets.token_hex(24), actor=user)
    entity, entity_secret = entity_create(environment=environment, actor=user, slug="crm", display_name="CRM",
                                          base_url="https://crm.example.com")
    thread = messages.thread_create(title="bench", created_by=user)
    rng = random.Random(7)
    for _ in range(100):
        messages.message_create(thread=thread, role="user",
                                content="".join(rng.choices(string.ascii_letters + " ", k=2048)))
    proxied = {"X-Forwarded-Proto": "https"}  # as the TLS proxy in front sends it
    user_auth = {**proxied, "Authorization": f"Bearer {token}"}  # a hashed plt_ API token
    return {
        "baseline": {"path": "/bench/baseline/", **user_auth},
        "whoami": {"path": "/agent/v1/entity/whoami", **proxied, "X-Platos-Entity": str(entity.pk),
                   "Authorization": f"Bearer {entity_secret}"},
        "env-vars": {"path": "/agent/v1/projects/bench/environments/production/env-vars/", **user_auth},
        "messages": {"path": f"/agent/v1/threads/{thread.pk}/messages/?limit=100", **user_auth},
    }


def _pg(database_url: str):
    import psycopg
    from environ import Env

    cfg = Env.db_url_config(database_url)
    params = dict(host=cfg["HOST"] or None, port=cfg["PORT"] or None, user=cfg["USER"] or None,
                  password=cfg["PASSWORD"] or None, autocommit=True)
    name = f"{cfg['NAME']}_bench_http"
    return psycopg, params, name, database_url.rsplit("/", 1)[0].split("?")[0] + f"/{name}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each case per round (default 20)")
    parser.add_argument("--port", type=int, default=0, help="loopback port for gunicorn (default: a free one)")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator even with wrk")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")) or not os.environ.get("REDIS_URL"):
        print("bench_http needs DATABASE_URL=postgres://... and REDIS_URL=redis://...", file=sys.stderr)
        return 2
    psycopg, params, name, database_url = _pg(base_url)
    with psycopg.connect(dbname="postgres", **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    work = Path(tempfile.mkdtemp(prefix="platos-bench-http-"))
    env = _server_env(database_url, str(work / "static"))
    server = None
    try:
        python = sys.executable
        for step in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run([python, "manage.py", *step], cwd=ROOT, env=env, check=True)  # noqa: S603
        os.environ.update(env)
        cases = _make_rows()
        port = args.port or _free_port()
        log = (work / "gunicorn.log").open("wb")
        gunicorn = str(Path(python).parent / "gunicorn")
        server = subprocess.Popen(  # noqa: S603
            [gunicorn, "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "-w", str(WORKERS),
             "--access-logfile", "/dev/null", "platos.wsgi"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, server, work / "gunicorn.log")
        use_wrk = shutil.which("wrk") and not args.python_load
        load = wrk_load if use_wrk else python_load
        print(f"HTTP through gunicorn ({WORKERS} sync workers), PostgreSQL + Redis, {CONNECTIONS} connections, "
              f"{ROUNDS} interleaved rounds of {args.seconds:g} s per case, load: {'wrk' if use_wrk else 'python'}")
        for name_, case in cases.items():  # correctness and warm-up before timing
            warm = load(base, case, seconds=1.0, connections=CONNECTIONS)
            if warm.errors or warm.requests == 0:
                print(f"{name_}: {warm.errors} errors in warm-up; see {work / 'gunicorn.log'}", file=sys.stderr)
                return 1
        results: dict[str, list[LoadResult]] = {n: [] for n in cases}
        for round_ in range(ROUNDS):
            order = list(cases) if round_ % 2 == 0 else list(reversed(cases))
            for name_ in order:
                results[name_].append(load(base, cases[name_], seconds=args.seconds, connections=CONNECTIONS))
        return _report(results)
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        with psycopg.connect(dbname="postgres", **params) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


def _wait_ready(base: str, server, log: Path) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:  # noqa: S310 (loopback)
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn not ready:\n{log.read_text()}")


def _report(results: dict[str, list[LoadResult]]) -> int:
    ok = True
    print(f"{'case':10s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s} {'ratio':>7s}  target")
    for name, runs in results.items():
        rps = statistics.median(r.rps for r in runs)
        p50 = statistics.median(r.p50_ms for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        errors = sum(r.errors for r in runs)
        ok &= errors == 0
        if name == "baseline":
            print(f"{name:10s} {rps:8.0f} {p50:8.2f} {p99:8.2f} {errors:7d} {'1.00x':>7s}")
            continue
        ratio = statistics.median(r.rps / b.rps for r, b in zip(runs, results["baseline"], strict=True))
        met = ratio >= TARGETS[name]
        ok &= met
        print(f"{name:10s} {rps:8.0f} {p50:8.2f} {p99:8.2f} {errors:7d} {ratio:6.2f}x  >= {TARGETS[name]}x "
              f"{'met' if met else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
