"""gunicorn settings for Platos: `.venv/bin/gunicorn -c gunicorn.conf.py -b 127.0.0.1:8000 platos.wsgi`.

Command-line flags win over this file. A bad key or a wrong key (canary mismatch)
stops the server instead of a worker respawn loop: see platos/bootcheck.py.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # platos.bootcheck, whatever directory gunicorn starts in

from platos.bootcheck import FatalExit  # noqa: E402  (standard library only at import)

_fatal = FatalExit()  # made in the master when it reads this file, shared by its workers

wsgi_app = "platos.wsgi"
bind = "127.0.0.1:8000"  # behind a proxy on the same host; -b overrides


def _count(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        sys.exit(f"Platos cannot start: {name} must be a whole number of at least 1 (found {value!r}). "
                 f"Fix: set it to a number like {default}, or unset it for the default.")
    return int(value)


workers = _count("WEB_CONCURRENCY", 2)
# Requests that take longer than this are killed (a stuck DB call must not pin a worker).
timeout = _count("GUNICORN_TIMEOUT", 30)
graceful_timeout = 20
# No max_requests: a worker restart costs a Django import and a boot check, and there
# is no known leak to bound.
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn): two servers
# of one user would fight over it, and nothing here uses gunicornc.
control_socket_disable = True
accesslog = "-"  # stdout; paths and status only, never headers or bodies
errorlog = "-"
# gunicorn would itself mark requests from loopback with X-Forwarded-Proto: https as
# secure. One place decides instead: Django, with PLATOS_BEHIND_TLS_PROXY=true.
forwarded_allow_ips = ""


def on_starting(server):
    """In the master, before any worker forks or a port is bound: the keys, the key canary
    and the collected static files. A problem prints its one message and stops here."""
    check = subprocess.run([sys.executable, "-m", "platos.bootcheck"], cwd=ROOT, check=False)  # noqa: S603
    if check.returncode != 0:
        server.log.error("Platos boot check failed (see the message above); not starting.")
        sys.exit(check.returncode)


def post_fork(server, worker):
    """In each worker: the same checks; a failure exits with gunicorn's WORKER_BOOT_ERROR,
    on which the master halts instead of respawning."""
    from platos.bootcheck import worker_check

    worker_check(_fatal)
