"""Settings of the HTTP benchmark's server: production settings plus its baseline view.

Only ``tests/bench/bench_http.py`` uses this module; production URLs are unchanged.
"""

from platos.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.http_urls"
