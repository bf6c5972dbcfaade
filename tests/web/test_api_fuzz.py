"""The JSON API fuzzed with schemathesis from its own OpenAPI document, as every role.

Each generated request (query parameters drawn from the document) is sent once per role, with the
session cookie of a real sign-in, through the live WSGI app on a database holding the sample
scenario. Every answer must: not be a server error, carry a status code and content type the
document lists, match the documented response schema, and, for embassy officers, hold nothing
about a country outside their post. Hypothesis is derandomized (same cases every run) and bounded
so the whole run stays well under a minute on SQLite.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, assume, given, settings
from schemathesis import GenerationMode, checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests.web.conftest import PASSWORD, csrf_token
from tracker.views.api import openapi_document

pytestmark = pytest.mark.db  # the module's own app fixture is built on the run's database factory

#: Role name (tests/web/conftest.py's users) -> the countries the role is confined to (None: all).
ROLES: dict[str, frozenset[str] | None] = {
    "admin": None, "reviewer": None, "budget": None, "state": None, "labor": None,
    "jakarta": frozenset({"IDN"}), "tirana": frozenset({"ALB"}),
}


@pytest.fixture(scope="module")
def api_app(databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """One app on a copy of the sample scenario for the whole module (the API only reads)."""
    from tracker import create_app

    url = databases.create_demo()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret",
                      "INSTANCE_PATH": str(tmp_path_factory.mktemp("fuzz") / "instance"),
                      "RAISE_SERVER_ERRORS": False})  # a crash must come back as a 500 for the check to see
    yield app
    app.extensions["tracker.engine"].dispose()
    databases.drop(url)


@pytest.fixture(scope="module")
def cookies(api_app: Flask) -> dict[str, str]:
    """Each role's session cookie, from signing in through the login form."""
    found = {}
    for name in ROLES:
        client = api_app.test_client()
        token = csrf_token(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"username": f"t-{name}", "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, f"t-{name} could not sign in"
        cookie = client.get_cookie("session")
        assert cookie is not None
        found[name] = cookie.value
    return found


@pytest.fixture(scope="module")
def api_schema(api_app: Flask) -> Any:
    """The OpenAPI document as the live app serves it."""
    return schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)


#: The documented paths, for one test each (the live document is checked to list exactly these).
PATHS = sorted(openapi_document()["paths"])


def countries_in(body: Any) -> set[str]:
    """Every country code an API answer mentions: items' "country" fields and their records'."""
    found: set[str] = set()
    if isinstance(body, list):
        for item in body:
            found |= countries_in(item)
    elif isinstance(body, dict):
        if isinstance(body.get("country"), str):
            found.add(body["country"])
        for nested in body.values():
            if isinstance(nested, (list, dict)):
                found |= countries_in(nested)
    return found


#: Generated requests per operation (each sent as every role); raise it for a longer hunt, e.g.
#: TRACKER_FUZZ_EXAMPLES=500 pytest tests/web/test_api_fuzz.py
EXAMPLES = int(os.environ.get("TRACKER_FUZZ_EXAMPLES", "12"))


def test_the_live_document_lists_every_api_route(api_app: Flask, api_schema: Any) -> None:
    served = {(op.method.upper(), op.path) for op in (result.ok() for result in api_schema.get_all_operations())}
    routes = {(method, rule.rule) for rule in api_app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              and rule.endpoint != "api.openapi" for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == routes == {("GET", path) for path in PATHS}


#: What each kind of generated request must satisfy: schema-valid requests are accepted and
#: answered as documented; schema-invalid ones (a year out of range, a limit that is no number,
#: an unknown flag type, an empty grouping...) never crash and are answered as documented.
#: (schemathesis's negative_data_rejection is left out: in a query string a "boolean" `false`
#: is the text "false", a valid code, so it reports acceptable requests as wrongly accepted.)
CHECKS = {
    GenerationMode.POSITIVE: [checks.not_a_server_error, openapi_checks.status_code_conformance,
                              openapi_checks.content_type_conformance, openapi_checks.response_schema_conformance,
                              checks.positive_data_acceptance],
    GenerationMode.NEGATIVE: [checks.not_a_server_error, openapi_checks.status_code_conformance,
                              openapi_checks.content_type_conformance, openapi_checks.response_schema_conformance],
}


#: Each operation in each generation mode (an operation without parameters has nothing to make invalid).
RUNS = [(path, mode) for path in PATHS for mode in CHECKS
        if mode is GenerationMode.POSITIVE or openapi_document()["paths"][path]["get"]["parameters"]]


@pytest.mark.slow  # fuzzing: once per CI run (the cases above and below run on PostgreSQL too)
@pytest.mark.parametrize(("path", "mode"), RUNS, ids=[f"{path}-{mode.value}" for path, mode in RUNS])
def test_api_answers_every_role_within_its_document_and_scope(api_schema: Any, cookies: dict[str, str], path: str,
                                                             mode: GenerationMode) -> None:
    operation = api_schema[path]["GET"]

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def every_role(case: Any) -> None:
        # The session cookie is the caller's identity, set below for each role, not a parameter to mutate.
        assume(not api_schema.is_security_param_negated(case))
        anonymous = case.call()
        case.validate_response(anonymous, checks=CHECKS[mode])
        assert anonymous.status_code == 401 and anonymous.json()["error"], anonymous.text[:300]
        for role, allowed in ROLES.items():
            response = case.call(cookies={"session": cookies[role]})
            case.validate_response(response, checks=CHECKS[mode])
            assert response.status_code in (200, 400), (role, response.status_code, response.text[:300])
            if allowed is not None and response.status_code == 200:
                foreign = {c for c in countries_in(response.json()) if c not in allowed}
                assert not foreign, f"{role} was shown {sorted(foreign)} by GET {path} {case.query}"

    every_role()


@pytest.mark.parametrize(("query", "named"), [
    ("/api/obligations?fiscal_year=99999999999999999999", "fiscal_year"),  # was a 500: too big for the database
    ("/api/obligations?fiscal_year=FY2007", "fiscal_year"),
    ("/api/reports?offset=99999999999999999999", "offset"),  # was a 500
    ("/api/reports?limit=all", "limit"),
    ("/api/obligations?country=I%00DN", "country"),  # was a 500 on PostgreSQL
    ("/api/flags?type=nonsense", "type"),
    ("/api/flags?fiscal_year=1066", "fiscal_year"),
    ("/api/totals?by=", "by"),  # was a 500 (found by the fuzzing above)
    ("/api/totals?by=fiscal_year,colour", "by"),
])
def test_a_parameter_the_api_cannot_use_is_answered_400_naming_it(api_app: Flask, cookies: dict[str, str],
                                                                  query: str, named: str) -> None:
    client = api_app.test_client()
    client.set_cookie("session", cookies["reviewer"])
    response = client.get(query)
    assert response.status_code == 400 and response.is_json
    assert named in response.get_json()["error"]


def test_a_script_not_signed_in_gets_401_json(api_app: Flask) -> None:
    for path in PATHS:
        response = api_app.test_client().get(path)
        assert response.status_code == 401 and response.get_json()["error"], path
    assert api_app.test_client().get("/api/openapi.json").get_json()["paths"].keys() == set(PATHS)
