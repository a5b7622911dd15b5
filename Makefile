# The two front-door commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run serve test test-services lint bench screenshots mutation

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime: $(PY) requirements.txt
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# The browser tests (tests/e2e) drive Debian's Chromium; browsers cannot be downloaded here.
/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		echo "tests/e2e needs Debian's Chromium: sudo apt-get install chromium" >&2; exit 1; \
	fi

# Runs the app on its embedded default: SQLite file, in-process cache.
run: $(VENV)/.runtime
	$(PY) manage.py generate_keys --write .env --dev
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_admin
	@echo "Admin MFA: with DJANGO_DEBUG off (or PLATOS_REQUIRE_ADMIN_MFA=true) the first admin login asks you to enrol"
	@echo "a TOTP app (scan/paste the otpauth link or type the secret, confirm one code). PLATOS_REQUIRE_ADMIN_MFA=false turns it off."
	@echo "The seed is stored encrypted under ENCRYPTION_KEY; a lost device is deleted under Keys > TOTP devices (/admin/platos/encryptedtotpdevice/)."
	$(PY) manage.py runserver 127.0.0.1:8000

# Production-shaped, on this machine: gunicorn with gunicorn.conf.py, DEBUG off, collected and
# compressed static files, PostgreSQL/Redis when DATABASE_URL/REDIS_URL are in .env (else SQLite).
# It speaks plain HTTP on loopback, so the HTTPS redirect, HSTS and HTTPS-only cookies are off here;
# behind a TLS proxy they stay on (README "Self-hosting").
SERVE_BIND ?= 127.0.0.1:8000
SERVE_ENV := DJANGO_DEBUG=false DJANGO_SECURE_SSL_REDIRECT=false DJANGO_SECURE_HSTS_SECONDS=0 \
	DJANGO_SECURE_COOKIES=false DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost PLATOS_PUBLIC_URL=http://$(SERVE_BIND)
serve: $(VENV)/.runtime
	$(PY) manage.py generate_keys --write .env
	$(SERVE_ENV) $(PY) manage.py migrate --noinput
	$(SERVE_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(SERVE_ENV) $(PY) manage.py bootstrap_admin
	$(SERVE_ENV) $(VENV)/bin/gunicorn -c gunicorn.conf.py -b $(SERVE_BIND) platos.wsgi

# The whole suite on SQLite (tests needing PostgreSQL/Redis are listed as not collected).
test: $(VENV)/.dev /usr/bin/chromium
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest

# The same suite on PostgreSQL + Redis; an unreachable service fails the run.
PG_URL ?= postgres://postgres@127.0.0.1:5432/platos
REDIS_TEST_URL ?= redis://127.0.0.1:6379/1
test-services: $(VENV)/.dev /usr/bin/chromium
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) PLATOS_REQUIRE_SERVICES=1 $(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .

bench: $(VENV)/.dev
	$(PY) tests/bench/bench_fields.py

# Regenerates docs/screenshots/*.png (dashboard, Keys, initial-secret page, audit log) from the browser tests.
screenshots: $(VENV)/.dev /usr/bin/chromium
	env -u DATABASE_URL -u REDIS_URL PLATOS_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q tests/e2e/test_admin_browser.py

# Mutation testing of the crypto core (keys, envelope, fields) with mutmut, by hand: not part of
# `make test` or CI (long: on the shared 2-core machine the last run did not finish in ~40 minutes).
# Config: [tool.mutmut] in pyproject.toml;
# results: README "Mutation testing", docs/mutation.md. A fresh run each time (no stale cache).
MUTATION_WORKERS ?= 2
mutation: $(VENV)/.dev
	rm -rf mutants
	env -u DATABASE_URL -u REDIS_URL -u PLATOS_REQUIRE_SERVICES $(VENV)/bin/mutmut run --max-children $(MUTATION_WORKERS)
	@echo "== per module (status: count)"
	@$(VENV)/bin/mutmut results --all true | awk -F': ' '{ split($$1, p, "."); m = p[1] "." p[2] "." p[3]; \
		gsub(/ /, "", m); n[m ": " $$2]++; t[m]++ } END { for (k in n) print k, n[k]; for (m in t) print m ": total", t[m] }' | sort
	@echo "== not killed"
	@$(VENV)/bin/mutmut results
