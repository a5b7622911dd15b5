""".env import and export: parsing edge cases, conflicts, all-or-nothing, export quoting, round trip."""

import io

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditEvent
from secrets_app.models import EnvironmentVariable
from secrets_app.services import (
    ImportRefused,
    dotenv_parse,
    env_var_create,
    env_vars_export,
    env_vars_import,
    provider_key_create,
)

from .conftest import OPENAI_KEY, SECRET, client_for, url

pytestmark = pytest.mark.django_db

EDGE = (
    "# a comment\n"
    "export EXPORTED=plain-value\n"
    "SINGLE='single \\n # not a comment'\n"
    'DOUBLE="line one\\nline \\"two\\""\n'
    'MULTI="first\nsecond"\n'
    "EMPTY=\n"
    "HASHED=abc # trailing comment\n"
)


def test_parse_follows_the_dotenv_conventions():
    entries, invalid = dotenv_parse(EDGE)
    values = {name: value for _, name, value in entries}
    assert invalid == []
    assert values["EXPORTED"] == "plain-value"
    assert values["SINGLE"] == "single \\n # not a comment"  # no escapes inside single quotes
    assert values["DOUBLE"] == 'line one\nline "two"'
    assert values["MULTI"] == "first\nsecond"
    assert values["EMPTY"] == ""
    assert values["HASHED"] == "abc"
    assert [line for line, name, _ in entries if name == "HASHED"] == [8]


def test_duplicates_invalid_names_and_bad_lines_are_reported_by_line_without_values(world):
    text = "GOOD=ok-value\nGOOD=again-9999\nlower=zz-secret-1\nNOEQUALS\n'broken\n"
    with pytest.raises(ImportRefused) as caught:
        env_vars_import(environment=world.prod, dotenv=text, actor=world.admin)
    invalid = caught.value.report["invalid"]
    assert [(i["line"], i["name"]) for i in invalid][:3] == [(2, "GOOD"), (3, "lower"), (4, "NOEQUALS")]
    assert "duplicate of line 1" in invalid[0]["error"] and any(i["line"] == 5 for i in invalid)
    assert "again-9999" not in str(caught.value.report) and "zz-secret-1" not in str(caught.value.report)
    assert not EnvironmentVariable.objects.exists() and not AuditEvent.objects.exists()


def test_conflicts_fail_skip_overwrite_and_dry_run(world):
    env_var_create(environment=world.prod, name="EXISTING", value="old-value-1", actor=world.admin)
    admin = client_for(world.admin)
    body = {"variables": {"EXISTING": "new-value-2", "FRESH": SECRET}}
    r = admin.post(url("env-import/"), body, format="json")
    assert r.status_code == 400 and r.json()["code"] == "import_refused"
    assert r.json()["report"]["invalid"][0]["name"] == "EXISTING" and SECRET not in r.content.decode()
    assert not EnvironmentVariable.objects.filter(name="FRESH").exists()
    r = admin.post(url("env-import/") + "?on_conflict=skip&dry_run=true", body, format="json")
    assert r.status_code == 200 and r.json() == {"created": ["FRESH"], "updated": [], "skipped": ["EXISTING"],
                                                 "invalid": [], "dry_run": True}
    assert not EnvironmentVariable.objects.filter(name="FRESH").exists()
    r = admin.post(url("env-import/") + "?on_conflict=overwrite", body, format="json")
    assert r.status_code == 200 and r.json()["updated"] == ["EXISTING"] and r.json()["created"] == ["FRESH"]
    existing = EnvironmentVariable.objects.get(name="EXISTING")
    assert existing.value == "new-value-2" and existing.versions.get().value == "old-value-1"
    assert client_for(world.member).post(url("env-import/"), body, format="json").status_code == 403
    assert admin.post(url("env-import/") + "?on_conflict=maybe", body, format="json").status_code == 400


def test_a_thousand_variables_with_one_bad_line_write_nothing(world):
    lines = [f"VAR_{i}=value-{i}" for i in range(1000)]
    lines[617] = "9BAD=value"
    with pytest.raises(ImportRefused) as caught:
        env_vars_import(environment=world.prod, dotenv="\n".join(lines), actor=world.admin)
    assert caught.value.report["invalid"] == [{"line": 618, "name": "9BAD", "error": caught.value.report[
        "invalid"][0]["error"]}]
    assert EnvironmentVariable.objects.count() == 0 and AuditEvent.objects.count() == 0
    lines[617] = "VAR_617=value-617"
    report = env_vars_import(environment=world.prod, dotenv="\n".join(lines), actor=world.admin)
    assert len(report["created"]) == 1000 and EnvironmentVariable.objects.count() == 1000
    assert AuditEvent.objects.filter(action="secret.write").count() == 1000


def test_export_is_admin_only_no_store_audited_and_leaves_provider_keys_out(world):
    env_var_create(environment=world.prod, name="TOOL_TOKEN", value='a "quoted" #x\nnext', actor=world.admin)
    key = provider_key_create(environment=world.prod, provider="openai", label="k", secret=OPENAI_KEY,
                              actor=world.admin)
    assert client_for(world.member).post(url("env-export/"), {"reason": "x"}, format="json").status_code == 403
    r = client_for(world.admin).post(url("env-export/"), {"reason": "backup"}, format="json")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain") and r["Cache-Control"] == "no-store"
    assert r.content.decode() == 'TOOL_TOKEN="a \\"quoted\\" #x\\nnext"\n' and OPENAI_KEY not in r.content.decode()
    event = AuditEvent.objects.get(action="secret.export")
    assert event.extra["variables"] == ["TOOL_TOKEN"] and event.extra["left_out_provider_keys"] == [key.env_var_name]
    assert event.reason == "backup" and "quoted" not in str(event.extra)


def test_management_commands_import_and_export(world, tmp_path):
    path = tmp_path / "in.env"
    path.write_text("A_ONE=1\nexport B_TWO='two words'\n")
    out = io.StringIO()
    call_command("env_import", "acme/production", str(path), stdout=out)
    assert "created 2" in out.getvalue() and EnvironmentVariable.objects.get(name="B_TWO").value == "two words"
    out = io.StringIO()
    call_command("env_export", "acme/production", "--reason", "migrate host", stdout=out)
    assert out.getvalue() == 'A_ONE="1"\nB_TWO="two words"\n'
    assert AuditEvent.objects.get(action="secret.export").actor == "system:env_export"


NAMES = st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,20}\Z", fullmatch=True)
VALUES = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40) | st.sampled_from(
    ['a"b', "a'b", "#x", "=", "x=y#z", "\\n", "\\", "line\nline", "é✓ unicode", " padded ", "$HOME", "${X}"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(variables=st.dictionaries(NAMES, VALUES.filter(lambda v: not v.endswith("\\")), min_size=1, max_size=6))
def test_import_of_export_is_identity(world, variables):
    EnvironmentVariable.objects.filter(environment=world.staging).delete()
    env_vars_import(environment=world.staging, variables=variables, actor=world.admin)
    text = env_vars_export(environment=world.staging, reason="round trip", actor=world.admin)
    entries, invalid = dotenv_parse(text)
    assert invalid == [] and {name: value for _, name, value in entries} == variables


def test_export_refuses_a_value_python_dotenv_cannot_read_back(world):
    env_var_create(environment=world.prod, name="WIN_PATH", value="C:\\dir\\", actor=world.admin)
    r = client_for(world.admin).post(url("env-export/"), {"reason": "backup"}, format="json")
    assert r.status_code == 400 and "WIN_PATH" in r.content.decode() and "C:" not in r.content.decode()
