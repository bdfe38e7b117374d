"""Property-based tests of every operation in the live OpenAPI schema (Schemathesis).

The schema is fetched from /api/v1/schema/ of the real Django app, served in-process over
WSGI inside the test's transaction, so whatever the schema lists when the test runs is
covered (new endpoints join without edits here). Requests carry a maintainer's knox token;
the seed, the probe catalogue, one enrolled host and a few recorded results make the lists
non-empty. Checks: no 5xx, responses match their documented schema, status codes are
documented. Bounded for a 2-core machine: a fixed number of examples per operation,
derandomized so a failure reproduces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import token_for

EXAMPLES_PER_OPERATION = 50
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


def _in_transaction(app: Callable[..., Any]) -> Callable[..., Any]:
    """``app`` without the per-request connection closing, which would end the test's
    transaction (Django's own test client disconnects it the same way)."""
    from django.core import signals
    from django.db import close_old_connections

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            response = app(environ, start_response)
            try:
                return list(response)
            finally:
                response.close()  # sends request_finished, as a WSGI server does
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)

    return wsgi


@pytest.fixture
def recorded(catalogue) -> None:
    """One enrolled host and a short history on two kernels, through the real ingest."""
    from tests.probes.factories import observe

    observe("lab-1", "6.17.0-test", {"ns.uts.isolation": "pass", "keys.basic": "fail"})
    observe("lab-1", "6.18.0-test", {"ns.uts.isolation": "pass", "keys.basic": "pass"})
    observe("lab-2", "6.18.0-test", {"ns.uts.isolation": "fail", "keys.basic": "unsupported"})


@pytest.fixture
def unthrottled(monkeypatch) -> None:
    """Thousands of writes in a minute are the point here, not abuse."""
    from roadmap.api.throttles import ImportRateThrottle, WriteRateThrottle

    monkeypatch.setattr(WriteRateThrottle, "rate", "1000000/min", raising=False)
    monkeypatch.setattr(ImportRateThrottle, "rate", "1000000/min", raising=False)


@pytest.fixture
def maintainer_token(maintainer) -> str:
    return token_for(maintainer)


def _schema() -> schemathesis.BaseSchema:
    # pytest-django has set Django up before it collects this module; serving the schema
    # reads no table, so no database is touched at collection.
    from django.core.wsgi import get_wsgi_application

    app = _in_transaction(get_wsgi_application())
    return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app)


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(
    case: schemathesis.Case, recorded, unthrottled, maintainer_token: str
) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Token {maintainer_token}"},
        checks=CHECKS,
    )
