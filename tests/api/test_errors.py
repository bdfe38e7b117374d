"""One error shape for every 4xx: bad JSON, wrong types, bad roles, unknown ids, conflicts."""

from __future__ import annotations

import pytest

from roadmap.models import Claim

from .conftest import client_for


def error_of(response, status: int) -> dict:  # noqa: ANN001 - a test response
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
def member(ibm_member):
    return client_for(ibm_member)


def test_it_answers_malformed_json_with_a_parse_error(member):
    response = member.post("/api/v1/claims/", '{"item": ', content_type="application/json")
    assert error_of(response, 400)["code"] == "parse_error"


def test_it_answers_a_bad_role_with_the_services_code_and_the_field(member, seeded):
    body = {"item": "net-namespace", "stakeholder": "ibm", "role": "boss"}
    error = error_of(member.post("/api/v1/claims/", body, format="json"), 400)
    assert error["code"] == "invalid_role"
    assert "lead" in error["fields"]["role"][0]
    assert not Claim.objects.exists()


def test_it_answers_an_unknown_item_with_the_field(member, seeded):
    body = {"item": "no-such-item", "stakeholder": "ibm", "role": "lead"}
    error = error_of(member.post("/api/v1/claims/", body, format="json"), 400)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["item"]


@pytest.mark.parametrize(
    "body",
    [
        {"item": ["net-namespace"], "stakeholder": "ibm", "role": "lead"},
        {"item": "net-namespace", "stakeholder": 7, "role": "lead"},
        {"item": "net-namespace", "stakeholder": "ibm", "role": None},
        {"item": "net-namespace", "stakeholder": "ibm", "role": {"a": 1}},
        {"stakeholder": "ibm"},
    ],
    ids=["list-for-slug", "number-for-slug", "null-role", "object-role", "missing-fields"],
)
def test_it_answers_wrong_types_with_field_errors(member, seeded, body):
    error = error_of(member.post("/api/v1/claims/", body, format="json"), 400)
    assert error["code"] == "invalid"
    assert error["fields"]
    assert not Claim.objects.exists()


def test_it_answers_a_json_list_where_an_object_belongs(member, seeded):
    error = error_of(member.post("/api/v1/claims/", [1, 2], format="json"), 400)
    assert error["code"] == "invalid"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/claims/999999/",
        "/api/v1/claims/abc/",
        "/api/v1/claims/99999999999999999999999/",
        "/api/v1/items/no-such-item/",
        "/api/v1/kernels/9.9.9-none/",
        "/api/v1/probes/no.such.probe/",
        "/api/v1/hosts/nowhere/",
        "/api/v1/runs/42/",
        "/api/v1/results/42/",
        "/api/v1/no-such-collection/",
    ],
)
def test_it_answers_unknown_ids_with_not_found(api, seeded, url):
    assert error_of(api.get(url), 404)["code"] == "not_found"


def test_it_answers_a_patch_of_an_unknown_claim_with_not_found(member, seeded):
    response = member.patch("/api/v1/claims/424242/", {"role": "lead"}, format="json")
    assert error_of(response, 404)["code"] == "not_found"


def test_it_answers_a_second_claim_and_a_second_release_with_conflicts(member, ibm_claim):
    body = {"item": "pid-namespace", "stakeholder": "ibm", "role": "lead"}
    assert error_of(member.post("/api/v1/claims/", body, format="json"), 409)["code"] == (
        "already_claimed"
    )
    url = f"/api/v1/claims/{ibm_claim.pk}/release/"
    assert member.post(url).status_code == 200
    assert error_of(member.post(url), 409)["code"] == "claim_not_active"
    response = member.patch(f"/api/v1/claims/{ibm_claim.pk}/", {"role": "lead"}, format="json")
    assert error_of(response, 409)["code"] == "claim_not_active"


def test_it_answers_refused_runs_with_the_services_message(maintainer, host, dispatch):
    script = client_for(maintainer)
    response = script.post("/api/v1/runs/", {"host": "lab-1", "only": ["nope.*"]}, format="json")
    assert error_of(response, 400)["code"] == "run_refused"
    response = script.post("/api/v1/runs/", {"host": "lab-1", "intrusive": True}, format="json")
    assert "intrusive" in error_of(response, 400)["message"]
    response = script.post("/api/v1/runs/", {"host": "ghost"}, format="json")
    assert list(error_of(response, 400)["fields"]) == ["host"]
    response = script.post("/api/v1/runs/", {"host": "lab-1", "only": "ns.*"}, format="json")
    assert list(error_of(response, 400)["fields"]) == ["only"]
    run = dispatch()
    assert script.post(f"/api/v1/runs/{run.pk}/cancel/").status_code == 200
    response = script.post(f"/api/v1/runs/{run.pk}/cancel/")
    assert "already cancelled" in error_of(response, 400)["message"]


def test_it_answers_unsupported_methods_and_media_types(member, ibm_claim):
    url = f"/api/v1/claims/{ibm_claim.pk}/"
    assert error_of(member.put(url, {"role": "lead"}, format="json"), 405)["code"] == (
        "method_not_allowed"
    )
    assert error_of(member.delete(url), 405)["code"] == "method_not_allowed"
    response = member.post("/api/v1/claims/", "role=lead", content_type="text/plain")
    assert error_of(response, 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/items/?status=finished",
        "/api/v1/results/?status=great",
        "/api/v1/results/?observed_after=yesterday",
        "/api/v1/results/?run=abc",
        "/api/v1/results/?cursor=bogus",
        "/api/v1/items/?page=999",
    ],
)
def test_it_answers_bad_filters_and_pages_in_the_error_format(api, seeded, query):
    response = api.get(query)
    assert response.status_code in (400, 404)
    error_of(response, response.status_code)


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("Token \u00e9t\u00e9", 401),
        ("Token " + "z" * 500, 401),
        ("Token", 401),
        ("Token a b", 401),
        ("Token 0123456789abcdef", 401),
        ("Bearer something", 200),  # not ours: read as anonymous
    ],
    ids=["latin-1", "long", "empty", "spaces", "unknown", "other-scheme"],
)
def test_it_answers_odd_authorization_headers_without_a_server_error(api, seeded, header, status):
    response = api.get("/api/v1/items/", HTTP_AUTHORIZATION=header)
    if status == 200:
        assert response.status_code == 200
    else:
        assert error_of(response, status)["code"] == "authentication_failed"
        assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("value", ["-1.79e308", "1e30", "abc", "0", str(2**64)])
def test_it_answers_400_for_a_run_id_out_of_range(api, seeded, value):  # noqa: ANN001
    response = api.get("/api/v1/results/", {"run": value})
    assert response.status_code == 400
    assert "run" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "params",
    [
        {"observed_after": "0001-01-01T00:00:00+05:00"},
        {"observed_before": "9999-12-31T23:59:59-05:00"},
    ],
)
def test_it_answers_400_for_times_the_database_cannot_hold(api, seeded, params):  # noqa: ANN001
    response = api.get("/api/v1/results/", params)
    assert response.status_code == 400, response.content
    assert set(params) <= set(response.json()["error"]["fields"])


@pytest.mark.parametrize("offset", ["-16:16", "+16:00", "+23:59"])
def test_it_reads_any_iso_offset_as_the_utc_time_it_names(api, seeded, offset):  # noqa: ANN001
    # PostgreSQL refuses offsets past 15:59; the filter hands it UTC instead.
    response = api.get("/api/v1/results/", {"observed_after": f"2026-01-01T00:00:00{offset}"})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "path", ["/api/v1/hosts/%00/", "/api/v1/items/%00/", "/api/v1/results/?probe=%00"]
)
def test_it_answers_400_for_a_nul_character_in_the_url(api, seeded, path):  # noqa: ANN001
    response = api.get(path)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_it_answers_400_for_a_nul_character_in_a_body(seeded, maintainer):  # noqa: ANN001
    api = client_for(maintainer)
    for path, body in [
        ("/api/v1/claims/", {"item": "\x00", "stakeholder": "ibm", "role": "lead"}),
        ("/api/v1/runs/", {"host": "\x00lab"}),
    ]:
        response = api.post(path, body, format="json")
        assert response.status_code in (400, 404), (path, response.content)
        assert response.json()["error"]["code"]
    assert not Claim.objects.exists()
