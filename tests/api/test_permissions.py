"""Every write endpoint, walked by every persona: the answer, and nothing stored on refusal."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from probes.models import ProbeRun
from roadmap.models import ActivityEvent, Claim

from .conftest import client_for, token_for

PERSONAS = ["anonymous", "member", "other_member", "outsider", "maintainer", "revoked", "host"]


@dataclass(frozen=True)
class Write:
    name: str
    method: str
    url: str  # formatted with {claim} and {run}
    body: dict
    answers: dict[str, int]  # persona -> status code


def _refused_by_auth(**allowed: int) -> dict[str, int]:
    """Anonymous, a revoked token and a host secret never get past authentication."""
    return {"anonymous": 401, "revoked": 401, "host": 401, **allowed}


WRITES = [
    Write(
        "claim-create",
        "post",
        "/api/v1/claims/",
        {"item": "net-namespace", "stakeholder": "ibm", "role": "lead"},
        _refused_by_auth(member=201, other_member=403, outsider=403, maintainer=201),
    ),
    Write(
        "claim-change-role",
        "patch",
        "/api/v1/claims/{claim}/",
        {"role": "lead"},
        _refused_by_auth(member=200, other_member=403, outsider=403, maintainer=200),
    ),
    Write(
        "claim-release",
        "post",
        "/api/v1/claims/{claim}/release/",
        {},
        _refused_by_auth(member=200, other_member=403, outsider=403, maintainer=200),
    ),
    Write(
        "run-create",
        "post",
        "/api/v1/runs/",
        {"host": "lab-1", "only": ["ns.uts.*"]},
        _refused_by_auth(member=403, other_member=403, outsider=403, maintainer=201),
    ),
    Write(
        "run-cancel",
        "post",
        "/api/v1/runs/{run}/cancel/",
        {},
        _refused_by_auth(member=403, other_member=403, outsider=403, maintainer=200),
    ),
]


def snapshot() -> tuple:
    """Everything a write endpoint may change."""
    return (
        sorted(Claim.objects.values_list("pk", "role", "released_at")),
        ActivityEvent.objects.count(),
        sorted(ProbeRun.objects.values_list("pk", "state")),
    )


@pytest.fixture
def as_persona(ibm_member, openvz_member, outsider, maintainer, host):
    def client(persona: str) -> APIClient:
        if persona == "anonymous":
            return APIClient()
        if persona == "revoked":
            token, value = AuthToken.objects.create(user=maintainer)
            token.delete()
            return client_for(token=value)
        if persona == "host":
            return client_for(token=host.secret)
        user = {
            "member": ibm_member,
            "other_member": openvz_member,
            "outsider": outsider,
            "maintainer": maintainer,
        }[persona]
        return client_for(token=token_for(user))

    return client


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_it_answers_each_write_as_the_persona_deserves(
    write: Write, persona: str, as_persona, ibm_claim, dispatch
):
    run = dispatch()
    url = write.url.format(claim=ibm_claim.pk, run=run.pk)
    before = snapshot()
    response = getattr(as_persona(persona), write.method)(url, write.body, format="json")
    expected = write.answers[persona]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()["error"]) == {"code", "message", "fields"}
        assert snapshot() == before
    else:
        assert snapshot() != before


def test_it_records_who_dispatched_a_run_through_the_api(maintainer, host):
    response = client_for(maintainer).post("/api/v1/runs/", {"host": "lab-1"}, format="json")
    assert response.status_code == 201
    run = ProbeRun.objects.get(pk=response.json()["id"])
    assert (run.trigger, run.requested_by, run.state) == ("api", maintainer, "queued")
    assert response.json()["requested_by"] == maintainer.username


def test_it_refuses_a_session_write_without_the_csrf_token(ibm_member, pid_ns):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(ibm_member)
    body = {"item": "net-namespace", "stakeholder": "ibm", "role": "lead"}
    response = browser.post("/api/v1/claims/", body, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert not Claim.objects.exists()


def test_it_accepts_a_session_write_with_the_csrf_token(ibm_member, pid_ns):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(ibm_member)
    csrf = browser.get("/accounts/tokens/").cookies["csrftoken"].value
    body = {"item": "net-namespace", "stakeholder": "ibm", "role": "lead"}
    response = browser.post("/api/v1/claims/", body, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201, response.content
    assert Claim.objects.get().created_by == ibm_member


def test_it_opens_reads_to_anonymous_users_unless_the_setting_closes_them(
    settings, seeded, outsider
):
    assert APIClient().get("/api/v1/items/").status_code == 200
    settings.API_ANONYMOUS_READ = False
    response = APIClient().get("/api/v1/items/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert client_for(outsider).get("/api/v1/items/").status_code == 200
    assert APIClient().get("/api/v1/schema/").status_code == 200  # the schema stays public


def test_it_throttles_writes_per_user(monkeypatch, ibm_member, seeded):
    from roadmap.api.throttles import WriteRateThrottle

    monkeypatch.setattr(WriteRateThrottle, "rate", "2/min", raising=False)
    script = client_for(ibm_member)
    bad = {"item": "net-namespace", "stakeholder": "ibm", "role": "boss"}
    codes = [script.post("/api/v1/claims/", bad, format="json").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    assert script.get("/api/v1/claims/").status_code == 200  # reads are not throttled
    answer = script.post("/api/v1/claims/", bad, format="json")
    assert answer.json()["error"]["code"] == "throttled"
    assert int(answer["Retry-After"]) > 0
