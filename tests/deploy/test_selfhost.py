"""README "Self-hosting", pasted: the documented commands, in their order, on a copy of
the repo against PostgreSQL + Redis, then real requests to the gunicorn they start.

The commands are read from the README itself (its first ``sh`` block under
"## Self-hosting"), so the README cannot drift from what works. ``.venv/bin/`` is the
test venv (it already has requirements.txt installed, so the venv line is skipped).
"""

import gzip
import json
import re
import shlex
import subprocess
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

from tests.deploy.conftest import ROOT, VENV_BIN, Gunicorn, clean_env, copy_tree, http_get

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PUBLIC_HOST = "platos.example.test"
VENV_LINE = "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Self-hosting\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture
def database():
    db = settings.DATABASES["default"]
    name = f"{db['NAME'].removeprefix('test_')}_selfhost"
    params = dict(host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"],
                  password=db["PASSWORD"] or None, autocommit=True, connect_timeout=5)
    with psycopg.connect(dbname="postgres", **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    yield f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    with psycopg.connect(dbname="postgres", **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_self_hosting_section_works_when_pasted(tmp_path, database):
    tree = copy_tree(tmp_path / "platos")
    env = clean_env()
    commands = readme_commands()
    assert commands[0] == VENV_LINE, "the section starts by making the venv"
    assert commands[-1] == ".venv/bin/gunicorn -c gunicorn.conf.py -b 127.0.0.1:8000 platos.wsgi"
    outputs = {}
    for line in commands[1:-1]:
        if line.startswith("#"):  # the step the operator does by hand: the variables
            assert ".env" in line
            with (tree / ".env").open("a") as fh:
                fh.write(
                    f"DATABASE_URL={database}\nREDIS_URL={settings.REDIS_URL}\n"
                    f"PLATOS_PUBLIC_URL=https://{PUBLIC_HOST}\nPLATOS_BEHIND_TLS_PROXY=true\n"
                )
            continue
        assert line.startswith(".venv/bin/"), f"not run with the venv: {line}"
        argv = shlex.split(line, comments=True)
        argv[0] = str(VENV_BIN / argv[0].removeprefix(".venv/bin/"))
        done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        outputs[argv[2] if len(argv) > 2 else argv[0]] = done.stdout + done.stderr
    assert f"https://{PUBLIC_HOST}/admin/" in outputs["bootstrap_admin"]
    assert "no issues" in outputs["check"]

    server = Gunicorn(cwd=tree, log_dir=tmp_path, env=env)
    try:
        server.wait_ready()
        proxied = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https"}  # as the TLS proxy sends them
        status, headers, body = http_get(server.base + "/admin/login/", proxied)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', body.decode()).group(1)
        status, headers, _ = http_get(server.base + css, proxied)
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert "immutable" in headers["Cache-Control"]  # hashed name: cached for good

        status, _, body = http_get(server.base + "/agent/v1/docs/", proxied)
        assert status == 200
        js = re.search(r'src="(/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle\.[0-9a-f]{12}\.js)"',
                       body.decode()).group(1)
        status, headers, body = http_get(server.base + js, {**proxied, "Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
        assert headers["Content-Encoding"] == "gzip" and b"SwaggerUIBundle" in gzip.decompress(body)

        # The load balancer probes over plain HTTP, with its own Host header.
        status, headers, body = http_get(server.base + "/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, _, body = http_get(server.base + "/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"] == {"database": "ok", "key_canary": "ok", "redis": "ok"}
        # Anything else over plain HTTP goes to HTTPS.
        status, headers, _ = http_get(server.base + "/admin/login/", {"Host": PUBLIC_HOST})
        assert status == 301 and headers["Location"] == f"https://{PUBLIC_HOST}/admin/login/"
    finally:
        server.stop()
    assert server.proc.returncode == 0, server.output()
    out = server.output()
    assert "Traceback" not in out
    keys = dict(line.split("=", 1) for line in (tree / ".env").read_text().splitlines() if "=" in line)
    for name in ("ENCRYPTION_KEY", "PLATOS_MESSAGE_ENCRYPTION_KEY", "DJANGO_SECRET_KEY"):
        assert keys[name] not in out
