"""``manage.py env_exec``: a child process gets the environment's variables (through the
runtime API of a live server on 127.0.0.1), nothing lands on disk, its exit code passes."""

import os
import sys

import pytest
from django.core.management import CommandError, call_command
from pytest_django.live_server_helper import LiveServer

from secrets_app.services.service_accounts import service_account_create
from tests.factories import EnvironmentFactory, EnvironmentVariableFactory, ProjectFactory, UserFactory

VALUE = "env-exec-DISTINCTIVE-value-41c2"
PORTS = range(19150, 19200)  # this suite's own port range

CHILD = ("import os, sys; print('DB_URL is ' + ('present' if os.environ.get('DB_URL') else 'absent')); "
         "print('HOME inherited' if os.environ.get('INHERITED_MARK') == 'yes' else 'HOME lost'); sys.exit(7)")


@pytest.fixture
def runtime_server(transactional_db):
    server = None
    for port in PORTS:
        try:
            server = LiveServer(f"127.0.0.1:{port}")
            break
        except OSError:
            continue
    assert server is not None, "no free port in 19150-19199"
    server._live_server_modified_settings.enable()
    yield server
    server._live_server_modified_settings.disable()
    server.stop()


@pytest.fixture
def account_token(transactional_db):
    project = ProjectFactory(slug="acme")
    prod = EnvironmentFactory(project=project, slug="production")
    EnvironmentVariableFactory(environment=prod, name="DB_URL", value=VALUE)
    _, _, token = service_account_create(project=project, name="worker", environments=["production"],
                                         actor=UserFactory(username="ada"))
    return token


def test_child_gets_the_variables_and_its_exit_code_passes_through(runtime_server, account_token, monkeypatch,
                                                                    capfd, tmp_path):
    monkeypatch.setenv("PLATOS_TOKEN", account_token)
    monkeypatch.setenv("INHERITED_MARK", "yes")
    monkeypatch.delenv("DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        call_command("env_exec", "--url", runtime_server.url, "--environment", "production", "--",
                     sys.executable, "-c", CHILD)
    assert exit_info.value.code == 7
    out, err = capfd.readouterr()
    assert "DB_URL is present" in out and "HOME inherited" in out
    assert VALUE not in out + err
    assert os.listdir(tmp_path) == []  # nothing written where it ran
    assert "DB_URL" not in os.environ  # only the child got it


def test_refusals_are_clear_errors(runtime_server, account_token, monkeypatch):
    monkeypatch.delenv("PLATOS_TOKEN", raising=False)
    with pytest.raises(CommandError, match="PLATOS_TOKEN"):
        call_command("env_exec", "--url", runtime_server.url, "--environment", "production", "--", "true")
    monkeypatch.setenv("PLATOS_TOKEN", account_token)
    with pytest.raises(CommandError, match="404"):
        call_command("env_exec", "--url", runtime_server.url, "--environment", "staging", "--", "true")
