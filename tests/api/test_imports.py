"""POST /api/v1/imports/: a host's signed offline results file is its own authentication."""

from __future__ import annotations

import pytest

from probes.models import LatestResult, ProbeResult, ProbeRun
from probes.services.hosts import host_enroll

from .conftest import client_for, import_envelope

URL = "/api/v1/imports/"


def stored() -> tuple[int, int, int]:
    return ProbeRun.objects.count(), ProbeResult.objects.count(), LatestResult.objects.count()


def test_it_imports_a_correctly_signed_file_once(api, host):
    first = api.post(URL, import_envelope(host), format="json")
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["host"], body["trigger"], body["state"], body["received"]) == (
        "lab-1",
        "import",
        "done",
        2,
    )
    again = api.post(URL, import_envelope(host), format="json")  # signed anew, same document
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    assert stored() == (1, 2, 2)


def test_it_needs_no_user_and_ignores_a_revoked_token(host, outsider):
    from knox.models import AuthToken

    token, value = AuthToken.objects.create(user=outsider)
    token.delete()
    response = client_for(token=value).post(URL, import_envelope(host), format="json")
    assert response.status_code == 201
    assert ProbeRun.objects.get().requested_by is None


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda host, other: {**import_envelope(host), "sig": "0" * 64}, id="bad-sig"),
        pytest.param(
            lambda host, other: import_envelope(host, secret=other.secret), id="other-secret"
        ),
        pytest.param(
            lambda host, other: {**import_envelope(other, secret=host.secret)},
            id="names-another-host",
        ),
        pytest.param(
            lambda host, other: {**import_envelope(host), "host": "ghost"}, id="unknown-host"
        ),
        pytest.param(
            lambda host, other: {**import_envelope(host), "kind": "result"}, id="wrong-kind"
        ),
        pytest.param(lambda host, other: import_envelope(host)["body"], id="unsigned-document"),
        pytest.param(lambda host, other: [1, 2, 3], id="a-list"),
        pytest.param(lambda host, other: {}, id="empty-object"),
    ],
)
def test_it_refuses_anything_not_signed_by_the_host_and_stores_nothing(forge, api, host):
    other = host_enroll("lab-2")
    response = api.post(URL, forge(host, other), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "rejected"
    assert host.secret not in response.content.decode()
    assert stored() == (0, 0, 0)


def test_it_refuses_a_user_token_in_place_of_a_signature(maintainer, host):
    unsigned = import_envelope(host)
    del unsigned["sig"]
    response = client_for(maintainer).post(URL, unsigned, format="json")
    assert response.status_code == 400
    assert stored() == (0, 0, 0)


def test_it_refuses_a_retired_hosts_file(api, host):
    host.state = "retired"
    host.save(update_fields=["state"])
    response = api.post(URL, import_envelope(host), format="json")
    assert response.status_code == 400
    assert "retired" in response.json()["error"]["message"]
    assert stored() == (0, 0, 0)


def test_it_refuses_a_signed_file_with_a_malformed_document(api, host):
    from probes import protocol

    broken = protocol.seal(host.name, protocol.KIND_IMPORT, {"schema": 1}, host.secret)
    response = api.post(URL, broken, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("malformed results file")
    assert stored() == (0, 0, 0)


def test_it_answers_malformed_json_in_the_error_format(api, host):
    response = api.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert stored() == (0, 0, 0)
