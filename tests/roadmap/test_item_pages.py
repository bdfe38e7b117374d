"""The item and stakeholder pages, and the claim actions as plain forms, per persona."""

from __future__ import annotations

import pytest
from django.urls import reverse

from roadmap.models import ActivityEvent, Claim, RoadmapItem, Stakeholder
from roadmap.services import claims


@pytest.fixture
def user_ns(seeded):
    return RoadmapItem.objects.get(slug="user-namespace")


@pytest.fixture
def ibm_claim(ibm_member, user_ns):
    return claims.claim_create(ibm_member, user_ns, Stakeholder.objects.get(slug="ibm"), "lead")


def claim(client, slug="user-namespace", **data):  # noqa: ANN001
    return client.post(reverse("claim_create", args=[slug]), data)


def test_it_shows_an_item_with_notes_claims_and_history(client, ibm_claim):
    body = client.get(reverse("item_detail", args=["user-namespace"])).content.decode()
    assert "IBM" in body and "Lead" in body
    assert "claimed for IBM (lead)" in body
    memory = client.get(reverse("item_detail", args=["memory-cr"])).content.decode()
    assert "there are a few designs and prototypes" in memory
    assert "per-container swapfile?" in memory


def test_it_answers_404_for_an_unknown_item(client, seeded):
    assert client.get(reverse("item_detail", args=["nope"])).status_code == 404


def test_it_sends_anonymous_claimers_to_sign_in(client, user_ns):
    response = claim(client, stakeholder="ibm", role="lead")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Claim.objects.exists()


def test_it_lets_a_member_claim_for_their_stakeholder(client, ibm_member, user_ns):
    client.force_login(ibm_member)
    response = claim(client, stakeholder="ibm", role="contributor", note="patches soon")
    assert response.status_code == 302
    assert Claim.objects.get().note == "patches soon"
    roadmap = client.get(reverse("home")).content.decode()
    assert '<a href="/stakeholders/ibm/">IBM</a>: Contributor' in roadmap
    page = client.get(reverse("stakeholder_detail", args=["ibm"])).content.decode()
    assert "user</a>" in page and "Contributor" in page and "alice-ibm" in page


def test_it_refuses_a_member_claiming_for_another_stakeholder(client, openvz_member, user_ns):
    client.force_login(openvz_member)
    assert claim(client, stakeholder="ibm", role="lead").status_code == 400  # not offered
    assert not Claim.objects.exists()


def test_it_refuses_an_outsider(client, outsider, user_ns):
    client.force_login(outsider)
    assert claim(client, stakeholder="ibm", role="lead").status_code == 403
    assert not Claim.objects.exists()


def test_it_lets_a_maintainer_claim_for_anyone(client, maintainer, user_ns):
    client.force_login(maintainer)
    assert claim(client, stakeholder="openvz", role="reviewer").status_code == 302
    assert Claim.objects.get().stakeholder.slug == "openvz"


def test_it_answers_409_for_a_second_active_claim(client, ibm_member, ibm_claim):
    client.force_login(ibm_member)
    response = claim(client, stakeholder="ibm", role="contributor")
    assert response.status_code == 409
    assert "already has an active claim" in response.content.decode()
    assert Claim.objects.count() == 1


@pytest.mark.parametrize(
    "persona, expected", [("ibm_member", 302), ("openvz_member", 403), ("maintainer", 302)]
)
def test_it_checks_who_may_change_a_role_and_release(client, ibm_claim, request, persona, expected):
    client.force_login(request.getfixturevalue(persona))
    assert (
        client.post(reverse("claim_role", args=[ibm_claim.pk]), {"role": "reviewer"}).status_code
        == expected
    )
    assert client.post(reverse("claim_release", args=[ibm_claim.pk])).status_code == expected
    ibm_claim.refresh_from_db()
    changed = expected == 302
    assert (ibm_claim.role == "reviewer") is changed
    assert (ibm_claim.released_at is not None) is changed
    assert ActivityEvent.objects.filter(verb__in=["role_changed", "released"]).count() == (
        2 if changed else 0
    )


def test_it_refuses_a_bad_role_and_a_second_release(client, ibm_member, ibm_claim):
    client.force_login(ibm_member)
    assert (
        client.post(reverse("claim_role", args=[ibm_claim.pk]), {"role": "boss"}).status_code == 400
    )
    client.post(reverse("claim_release", args=[ibm_claim.pk]))
    assert client.post(reverse("claim_release", args=[ibm_claim.pk])).status_code == 409


def test_it_needs_post_for_actions(client, ibm_member, ibm_claim):
    client.force_login(ibm_member)
    assert client.get(reverse("claim_release", args=[ibm_claim.pk])).status_code == 405
