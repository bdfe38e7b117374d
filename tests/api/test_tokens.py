"""The token page: a user creates and revokes their own tokens; a value is shown once."""

from __future__ import annotations

import re

from django.test import Client
from knox.models import AuthToken

from .conftest import client_for

PAGE = "/accounts/tokens/"


def shown_token(response) -> str:  # noqa: ANN001 - a test response
    match = re.search(r'<output id="new-token"><code>([^<]+)</code>', response.content.decode())
    assert match, "the new token is not on the page"
    return match.group(1)


def test_it_sends_anonymous_visitors_to_sign_in(client, seeded):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.post(PAGE).status_code == 302
    assert not AuthToken.objects.exists()


def test_it_shows_a_new_token_once_and_stores_only_its_digest(client, ibm_member):
    client.force_login(ibm_member)
    created = client.post(PAGE)
    assert created.status_code == 201
    value = shown_token(created)
    stored = AuthToken.objects.get(user=ibm_member)
    assert value not in (stored.digest, stored.token_key) and stored.digest != value
    again = client.get(PAGE)
    assert value not in again.content.decode()
    assert stored.token_key in again.content.decode()  # listed by its first characters
    assert client_for(token=value).get("/api/v1/claims/").status_code == 200


def test_it_revokes_a_token_so_that_scripts_are_refused(client, ibm_member, pid_ns):
    client.force_login(ibm_member)
    value = shown_token(client.post(PAGE))
    script = client_for(token=value)
    body = {"item": "pid-namespace", "stakeholder": "ibm", "role": "lead"}
    digest = AuthToken.objects.get().digest
    response = client.post(f"/accounts/tokens/{digest}/revoke/")
    assert (response.status_code, response["Location"]) == (302, PAGE)
    assert not AuthToken.objects.exists()
    refused = script.post("/api/v1/claims/", body, format="json")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"


def test_it_lets_nobody_revoke_another_users_token(client, ibm_member, openvz_member):
    token, _ = AuthToken.objects.create(user=openvz_member)
    client.force_login(ibm_member)
    assert client.post(f"/accounts/tokens/{token.digest}/revoke/").status_code == 404
    assert client.get(f"/accounts/tokens/{token.digest}/revoke/").status_code == 405
    assert AuthToken.objects.filter(pk=token.pk).exists()
    assert token.token_key not in client.get(PAGE).content.decode()


def test_it_needs_the_csrf_token_to_create_or_revoke(ibm_member):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ibm_member)
    assert browser.post(PAGE).status_code == 403
    token, _ = AuthToken.objects.create(user=ibm_member)
    assert browser.post(f"/accounts/tokens/{token.digest}/revoke/").status_code == 403
    assert AuthToken.objects.count() == 1


def test_it_caps_the_number_of_tokens(client, ibm_member):
    from roadmap.api.pages import MAX_TOKENS_PER_USER

    for _ in range(MAX_TOKENS_PER_USER):
        AuthToken.objects.create(user=ibm_member)
    client.force_login(ibm_member)
    response = client.post(PAGE)
    assert response.status_code == 400
    assert AuthToken.objects.filter(user=ibm_member).count() == MAX_TOKENS_PER_USER


def test_it_throttles_failed_sign_ins(client, monkeypatch, ibm_member):
    from roadmap.api.throttles import LoginRateThrottle

    monkeypatch.setattr(LoginRateThrottle, "rate", "3/min", raising=False)
    right = {"username": ibm_member.username, "password": "pw-" + ibm_member.username}
    wrong = {**right, "password": "nope"}
    assert client.post("/accounts/login/", right).status_code == 302  # successes do not count
    client.logout()
    codes = [client.post("/accounts/login/", wrong).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    throttled = client.post("/accounts/login/", right)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    assert client.get("/accounts/login/").status_code == 200  # the page itself still shows
