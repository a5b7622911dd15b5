"""Boot checks for the web server (used by ``gunicorn.conf.py``).

gunicorn's master never imports the app (no ``preload_app``), so on its own a bad key
only shows in the workers: each prints the message and exits 1, and the master
respawns it forever. Two hooks close that:

* the master runs ``python -m platos.bootcheck`` before it forks (``on_starting``): the
  settings' key and deployment checks, the key canary against the database, and the
  collected static files when DEBUG is off. A problem prints its one message and the
  master exits with it, before binding a port.
* every worker runs :func:`worker_check` after the fork (``post_fork``), so a problem
  that appears later (``.env`` edited before a ``HUP``, the canary rewritten) exits the
  worker with gunicorn's "worker failed to boot" code, which stops the master too
  (see :class:`FatalExit`).

The check runs in a child process of the master so that the master stays free of
Django state: workers still load the settings fresh (a ``HUP`` re-reads ``.env``).
"""

from __future__ import annotations

import os
import sys

WORKER_BOOT_ERROR = 3  # gunicorn.arbiter.Arbiter.WORKER_BOOT_ERROR: the master halts on it


def _settings():
    """Load the settings; their own checks ``sys.exit`` with the one message."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platos.settings")
    import django

    django.setup()
    from django.conf import settings

    return settings


def canary_problem() -> str | None:
    """The canary mismatch message, or None (also when the database is not reachable yet:
    ``/readyz`` reports that, and the first request checks again)."""
    from django.db import DatabaseError, connections

    from platos.rotation.canary import CanaryMismatch, canary_verify, mark_verified

    try:
        canary_verify()
    except CanaryMismatch as exc:
        return str(exc)
    except DatabaseError:
        return None
    finally:
        connections.close_all()  # nothing open may cross a fork
    mark_verified()
    return None


def static_problem(settings) -> str | None:
    if settings.DEBUG or "Manifest" not in settings.STORAGES["staticfiles"]["BACKEND"]:
        return None
    from pathlib import Path

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists():
        return None
    return (
        "Platos cannot start: the static files are not collected (no "
        f"{manifest}), so the admin and the API docs would fail to render with "
        "DJANGO_DEBUG=false. Fix: run `.venv/bin/python manage.py collectstatic --noinput` "
        "(set DJANGO_STATIC_ROOT to collect elsewhere)."
    )


def master_check() -> int:
    settings = _settings()
    for problem in (canary_problem(), static_problem(settings)):
        if problem:
            print(problem, file=sys.stderr, flush=True)
            return 1
    return 0


class FatalExit:
    """Which exit code a failing worker uses, shared by the workers of one master.

    Made in the master before the fork. The first worker to fail exits with
    WORKER_BOOT_ERROR, which halts the master; the others exit 1. (If two workers exit
    with it, gunicorn meets the second one while halting and dies with a traceback.)
    """

    def __init__(self) -> None:
        import multiprocessing

        self._claimed = multiprocessing.Value("b", 0)

    def code(self) -> int:
        with self._claimed.get_lock():
            first = not self._claimed.value
            self._claimed.value = 1
        return WORKER_BOOT_ERROR if first else 1


def worker_check(fatal: FatalExit) -> None:
    """In a freshly forked worker: any problem prints its message and ends the worker."""
    try:
        _settings()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            print(exc.code, file=sys.stderr, flush=True)  # the settings' one message
        sys.exit(fatal.code())
    problem = canary_problem()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        sys.exit(fatal.code())


if __name__ == "__main__":
    sys.exit(master_check())
