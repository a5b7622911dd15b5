"""Soak: mixed traffic through gunicorn on PostgreSQL + Redis, a message-key rotation in the middle.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/platos REDIS_URL=redis://127.0.0.1:6379/1 \
        .venv/bin/python tests/bench/soak.py [--seconds 300] [--clients 6] [--port N]

It creates its own database (``<name>_soak``, dropped at the end unless ``--keep``) and
its own keys, starts gunicorn (2 workers, gunicorn.conf.py) on a free 127.0.0.1 port and
runs ``--clients`` keep-alive clients (tests/bench/soak_traffic.py): env-var lists, writes
and reveals with a reason, entity whoami (bearer) and heartbeat (signed), message writes
and page reads. The failure-count and reveal limits are raised (``PLATOS_THROTTLE_*``) so
the soak measures the app, not the limiter.

The rotation, as README "Rotate a key" says: at 35% of the time the clients pause, gunicorn
restarts with ``PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT`` set, traffic resumes and
``rotate_message_key --verify`` runs under it; when it is done (and at least 65% of the time
has passed) the clients pause again and gunicorn restarts with the next key as the only key.

Then it checks, and exits 1 if any fails: 0 5xx and 0 unexpected answers; the rotation
exited 0; ``verify_audit_chain`` intact; every variable reveals the value written last and
every message of every conversation reads back identical (all pages); ``key_status --json``
clean (canaries ok, no legacy plaintext, no row under an unconfigured key, the last rotation
finished, every message row under the one configured key). It prints requests by kind,
req/s, p50/p99 and errors. Every process it starts, it stops.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from bench_http import _free_port, _server_env, _wait_ready  # noqa: E402
from soak_traffic import MIX, Client, Gate, Stats, World  # noqa: E402

MESSAGE_KEY, MESSAGE_KEY_NEXT = "PLATOS_MESSAGE_ENCRYPTION_KEY", "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT"
HIGH = "1000000/min"
THROTTLES = {f"PLATOS_THROTTLE_{n}": HIGH for n in ("AUTH_FAILURES_PER_IP", "AUTH_FAILURES_PER_ENTITY",
                                                     "REVEALS_PER_USER", "RUNTIME_READS")}


def _database(base_url: str) -> tuple[dict, str, str]:
    from environ import Env

    cfg = Env.db_url_config(base_url)
    params = dict(host=cfg["HOST"] or None, port=cfg["PORT"] or None, user=cfg["USER"] or None,
                  password=cfg["PASSWORD"] or None, autocommit=True)
    name = f"{cfg['NAME']}_soak"
    return params, name, base_url.rsplit("/", 1)[0].split("?")[0] + f"/{name}"


def _setup(clients: int) -> World:
    """Runs in this process with the first keys: the rows every client starts from."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from entities.services import entity_create
    from messages_app import services as messages
    from secrets_app.models import Environment, Project, ProjectMembership
    from secrets_app.tokens.services import token_create

    user = get_user_model().objects.create_superuser("soak", "soak@example.com", secrets.token_urlsafe(12))
    _, token = token_create(user=user, name="soak")
    project = Project.objects.create(slug="soak", name="Soak")
    environment = Environment.objects.create(project=project, slug="production")
    ProjectMembership.objects.create(user=user, project=project, role="admin")
    entity, secret = entity_create(environment=environment, actor=user, slug="agent", display_name="Agent",
                                   base_url="https://agent.example.com")
    threads = [str(messages.thread_create(title=f"soak {i}", created_by=user).pk) for i in range(clients)]
    return World(scope="/agent/v1/projects/soak/environments/production/", user_token=token,
                 entity_id=str(entity.pk), entity_secret=secret, threads=threads)


class Server:
    def __init__(self, work: Path, port: int) -> None:
        self.work, self.proc, self.port = work, None, port or _free_port()

    def start(self, env: dict[str, str]) -> None:
        log = (self.work / "gunicorn.log").open("ab")
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.proc = subprocess.Popen(  # noqa: S603
            [gunicorn, "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}", "-w", "2",
             "--access-logfile", "/dev/null", "platos.wsgi"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _wait_ready(f"http://127.0.0.1:{self.port}", self.proc, self.work / "gunicorn.log")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.proc = None


def _pause(gate: Gate, clients: list[Client]) -> float:
    gate.open.clear()
    started = time.monotonic()
    for c in clients:
        c.idle.wait(60)
    return started


def _manage(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=env,  # noqa: S603
                          capture_output=True, text=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="traffic time (default 300)")
    parser.add_argument("--clients", type=int, default=6, help="concurrent keep-alive clients (default 6)")
    parser.add_argument("--port", type=int, default=0, help="loopback port for gunicorn (default: a free one)")
    parser.add_argument("--keep", action="store_true", help="keep the soak database afterwards")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")) or not os.environ.get("REDIS_URL"):
        print("soak needs DATABASE_URL=postgres://... and REDIS_URL=redis://...", file=sys.stderr)
        return 2
    import psycopg

    params, name, database_url = _database(base_url)
    with psycopg.connect(dbname="postgres", **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    work = Path(tempfile.mkdtemp(prefix="platos-soak-"))
    env = {**_server_env(database_url, str(work / "static")), **THROTTLES}
    k2 = secrets.token_hex(16)
    server, gate, clients = Server(work, args.port), Gate(), []
    try:
        for step in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run([sys.executable, "manage.py", *step], cwd=ROOT, env=env, check=True)  # noqa: S603
        os.environ.update(env)
        world = _setup(args.clients)
        server.start(env)
        stats = Stats()
        clients = [Client(i, port=server.port, world=world, stats=stats, gate=gate, seed=i)
                   for i in range(args.clients)]
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"({os.cpu_count()} CPUs); {args.clients} clients, {args.seconds:g} s")
        began = time.monotonic()
        paused = 0.0
        for c in clients:
            c.start()
        time.sleep(args.seconds * 0.35)
        # Step 1 of the rotation: the next key in every process (a restart), then the command.
        t = _pause(gate, clients)
        server.stop()
        rotating = {**env, MESSAGE_KEY_NEXT: k2}
        server.start(rotating)
        paused += time.monotonic() - t
        gate.open.set()
        rotation = _manage(rotating, "rotate_message_key", "--verify")
        rotated_at = time.monotonic() - began
        time.sleep(max(0.0, began + paused + args.seconds * 0.65 - time.monotonic()))
        # The swap: the next key becomes the only key, every process restarted.
        t = _pause(gate, clients)
        server.stop()
        final = {**env, MESSAGE_KEY: k2}
        server.start(final)
        paused += time.monotonic() - t
        gate.open.set()
        time.sleep(max(0.0, began + paused + args.seconds - time.monotonic()))
        gate.stop.set()
        for c in clients:
            c.join(60)
        traffic = time.monotonic() - began - paused
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        ok = _report(stats, traffic=traffic, paused=paused, rotation=rotation, rotated_at=rotated_at)
        ok &= _check_after(final, clients, stats)
        tracebacks = (work / "gunicorn.log").read_text(errors="replace").count("Traceback")
        print(f"tracebacks in the gunicorn log: {tracebacks}")
        ok &= tracebacks == 0
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        return 0 if ok else 1
    finally:
        gate.stop.set()
        gate.open.set()
        server.stop()
        if not args.keep:
            with psycopg.connect(dbname="postgres", **params) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if work.exists():
            print(f"kept for inspection: {work} (gunicorn.log)")


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] * 1000 if values else 0.0


def _report(stats: Stats, *, traffic: float, paused: float, rotation, rotated_at: float) -> bool:
    every = [x for v in stats.latencies.values() for x in v]
    print(f"Soak: {traffic:.0f} s of traffic (+{paused:.1f} s paused for the two restarts), "
          f"{sum(len(v) for v in stats.latencies.values())} requests, {len(every) / traffic:.1f} req/s")
    print(f"{'kind':18s} {'requests':>9s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for kind in MIX:
        v = stats.latencies[kind]
        print(f"{kind:18s} {len(v):9d} {_pct(v, .5):8.1f} {_pct(v, .99):8.1f}")
    print(f"{'all':18s} {len(every):9d} {_pct(every, .5):8.1f} {_pct(every, .99):8.1f}")
    summary = [line for line in rotation.stdout.splitlines() if line.startswith(("Summary", "Every row"))]
    print(f"rotation (ended at {rotated_at:.0f} s): exit {rotation.returncode}; " + " ".join(summary))
    if rotation.returncode != 0:
        print(rotation.stdout[-2000:], rotation.stderr[-2000:], sep="\n")
    print(f"5xx: {stats.server_errors}; unexpected answers/errors: {sum(stats.errors.values())} {stats.errors or ''}")
    return stats.server_errors == 0 and not stats.errors and rotation.returncode == 0


def _check_after(env: dict[str, str], clients: list[Client], stats: Stats) -> bool:
    ok = True
    n_vars = n_messages = 0
    for c in clients:
        for name_ in sorted(c.vars):
            (status, _), _ = c.reveal(name_)
            ok &= status == 200
            n_vars += 1
        seen, path = {}, f"/agent/v1/threads/{c.thread}/messages/?limit=500"
        while path:
            status, payload = c.request("GET", path, headers=c.user())
            if status != 200:
                stats.mismatches.append(f"thread {c.thread}: page answered {status}")
                break
            page = json.loads(payload)
            seen.update({m["id"]: m["content"] for m in page["results"]})
            path = urlunsplit(("", "", *urlsplit(page["next"])[2:4], "")) if page["next"] else ""
        if seen != c.messages:
            stats.mismatches.append(f"thread {c.thread}: {len(seen)} messages read, {len(c.messages)} written, "
                                    f"{sum(seen.get(k) != v for k, v in c.messages.items())} differ")
        n_messages += len(c.messages)
    print(f"read-back: {n_vars} variables revealed, {n_messages} messages re-read; mismatches: "
          f"{len(stats.mismatches)} {stats.mismatches[:5] or ''}")
    ok &= not stats.mismatches
    # After the read-backs, so their reveals' audit rows are in the chain it checks.
    chain = _manage(env, "verify_audit_chain")
    print(f"verify_audit_chain: exit {chain.returncode}: {chain.stdout.strip() or chain.stderr.strip()[-500:]}")
    ok &= chain.returncode == 0
    status = _manage(env, "key_status", "--json")
    problems = _key_status_problems(status.stdout) if status.returncode == 0 else [status.stderr[-500:]]
    print(f"key_status: {'clean' if not problems else problems}")
    return ok and not problems


def _key_status_problems(text: str) -> list[str]:
    problems = []
    for ring in json.loads(text)["keyrings"]:
        name = ring["keyring"]
        if ring["canary"]["status"] != "ok":
            problems.append(f"{name}: canary {ring['canary']['status']}")
        if ring["legacy_plaintext_rows"] or ring["unconfigured_key_ids"]:
            problems.append(f"{name}: legacy plaintext {ring['legacy_plaintext_rows']}, "
                            f"unconfigured {ring['unconfigured_key_ids']}")
        if ring["last_run"] is not None and ring["last_run"]["state"] != "finished":
            problems.append(f"{name}: last rotation {ring['last_run']['state']}")
        configured = {k["key_id"] for k in ring["keys"]}
        for col in ring["columns"]:
            stray = set(col["rows"]) - configured
            if stray:
                problems.append(f"{col['column']}: rows under {sorted(stray)}")
        if name == "messages" and len(configured) != 1:
            problems.append(f"messages: {len(configured)} keys configured after the swap")
    return problems


if __name__ == "__main__":
    sys.exit(main())
