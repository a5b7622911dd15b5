"""The API does what its OpenAPI schema says: schemathesis, as a library, against a live test server.

Bounded by the number of cases, not by a clock: a fixed seed (derandomized), at most
25 cases per operation and caller (35 operations x 2 callers x 25), no shrinking. Run as a superuser and as a plain
project member (who is refused much of it: those refusals must be documented too),
with the server-error, status-code, content-type and response-schema checks. Cases
are drawn three ways: valid input on the real objects of ``path_values``, valid input
on random path parameters, and schema-violating input on the real objects. Every
finding is collected and the test fails listing them all.
"""

from __future__ import annotations

import hypothesis
import pytest
import requests
import schemathesis
from django.test import Client
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 25
CSRF = "c" * 32  # any well-formed secret: the cookie and the header only have to agree


def _session(user) -> requests.Session:
    """A logged-in session (cookie auth, as the browser and the schema's cookieAuth have it)."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    session.cookies.set("csrftoken", CSRF)
    session.headers["X-CSRFToken"] = CSRF
    # One connection per request: the live server is Django's development server, and a
    # keep-alive connection it has answered with a low-level error page can leave the next
    # response unreadable (BadStatusLine), a transport flake, not a finding about the API.
    session.headers["Connection"] = "close"
    return session


def _strategy(operation, path_values):
    names = {p.name for p in operation.path_parameters}
    real = {name: str(value) for name, value in path_values.items() if name in names}
    return st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE, path_parameters=real),
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE, path_parameters=real),
    )


def _fuzz(operation, strategy, session, findings, who):
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def run(case):
        try:
            case.call_and_validate(session=session, checks=CHECKS, timeout=10)
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is an ExceptionGroup
            found = getattr(exc, "exceptions", [exc])
            for failure in found:
                title = getattr(failure, "title", type(failure).__name__)
                findings.setdefault((who, operation.label, title), f"{case.method} {case.formatted_path} {failure}")

    run()


def test_the_api_conforms_to_its_schema(live_server, world, path_values):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/agent/v1/schema/?format=json")
    # The callers are logged in; random Authorization headers and cookies would only test the 401.
    schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35, [op.label for op in operations]
    findings: dict[tuple[str, str, str], str] = {}
    # The member first: the superuser's writes (deletes, revokes) would leave the member 404s only.
    for who, user in (("member", world.member), ("superuser", world.root)):
        session = _session(user)
        for operation in operations:
            _fuzz(operation, _strategy(operation, path_values), session, findings, who)
    report = "\n".join(f"[{who}] {label}: {title}\n    {detail[:400]}"
                       for (who, label, title), detail in sorted(findings.items()))
    assert not findings, f"{len(findings)} schemathesis finding(s):\n{report}"
