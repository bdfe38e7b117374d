"""The claims service: who may claim, change roles and release, and the log it writes."""

from __future__ import annotations

import pytest

from roadmap.models import ActivityEvent, Claim, RoadmapItem, Stakeholder
from roadmap.services import claims


@pytest.fixture
def pid_ns(seeded):
    return RoadmapItem.objects.get(slug="pid-namespace")


@pytest.fixture
def ibm(seeded):
    return Stakeholder.objects.get(slug="ibm")


def test_it_lets_a_member_claim_for_their_stakeholder(ibm_member, pid_ns, ibm):
    claim = claims.claim_create(ibm_member, pid_ns, ibm, "lead", "we have patches")
    assert Claim.objects.get().pk == claim.pk
    event = ActivityEvent.objects.get()
    assert (event.verb, event.actor, event.item, event.stakeholder) == (
        "claimed",
        ibm_member,
        pid_ns,
        ibm,
    )
    assert event.data == {"role": "lead"}


def test_it_refuses_a_member_of_another_stakeholder(openvz_member, pid_ns, ibm):
    with pytest.raises(claims.NotAllowed):
        claims.claim_create(openvz_member, pid_ns, ibm, "lead")
    assert not Claim.objects.exists()
    assert not ActivityEvent.objects.exists()


def test_it_refuses_an_outsider(outsider, pid_ns, ibm):
    with pytest.raises(claims.NotAllowed):
        claims.claim_create(outsider, pid_ns, ibm, "interested")


def test_it_refuses_anonymous_users(pid_ns, ibm):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(claims.NotAllowed):
        claims.claim_create(AnonymousUser(), pid_ns, ibm, "interested")


def test_it_lets_a_maintainer_act_for_any_stakeholder(maintainer, pid_ns, ibm):
    claim = claims.claim_create(maintainer, pid_ns, ibm, "reviewer")
    claims.claim_change_role(maintainer, claim, "lead")
    claims.claim_release(maintainer, claim)
    assert [e.verb for e in ActivityEvent.objects.order_by("id")] == [
        "claimed",
        "role_changed",
        "released",
    ]


def test_it_allows_one_active_claim_per_item_and_stakeholder(ibm_member, pid_ns, ibm):
    claims.claim_create(ibm_member, pid_ns, ibm, "lead")
    with pytest.raises(claims.AlreadyClaimed):
        claims.claim_create(ibm_member, pid_ns, ibm, "contributor")
    assert Claim.objects.count() == 1
    assert ActivityEvent.objects.count() == 1


def test_it_lets_two_stakeholders_claim_the_same_item(ibm_member, openvz_member, pid_ns, ibm):
    claims.claim_create(ibm_member, pid_ns, ibm, "lead")
    claims.claim_create(
        openvz_member, pid_ns, Stakeholder.objects.get(slug="openvz"), "contributor"
    )
    assert Claim.objects.filter(item=pid_ns).count() == 2


def test_it_allows_a_new_claim_after_a_release(ibm_member, pid_ns, ibm):
    first = claims.claim_create(ibm_member, pid_ns, ibm, "lead")
    claims.claim_release(ibm_member, first)
    second = claims.claim_create(ibm_member, pid_ns, ibm, "reviewer")
    assert first.pk != second.pk
    assert Claim.objects.filter(released_at__isnull=True).get().pk == second.pk


def test_it_changes_the_role_and_logs_both_roles(ibm_member, pid_ns, ibm):
    claim = claims.claim_create(ibm_member, pid_ns, ibm, "interested")
    claims.claim_change_role(ibm_member, claim, "contributor")
    claim.refresh_from_db()
    assert claim.role == "contributor"
    event = ActivityEvent.objects.filter(verb="role_changed").get()
    assert event.data == {"old_role": "interested", "role": "contributor"}


def test_it_refuses_a_role_change_by_another_stakeholders_member(
    ibm_member, openvz_member, pid_ns, ibm
):
    claim = claims.claim_create(ibm_member, pid_ns, ibm, "lead")
    with pytest.raises(claims.NotAllowed):
        claims.claim_change_role(openvz_member, claim, "interested")
    with pytest.raises(claims.NotAllowed):
        claims.claim_release(openvz_member, claim)
    claim.refresh_from_db()
    assert (claim.role, claim.released_at) == ("lead", None)


def test_it_refuses_to_release_or_change_a_released_claim(ibm_member, pid_ns, ibm):
    claim = claims.claim_create(ibm_member, pid_ns, ibm, "lead")
    stale = Claim.objects.get(pk=claim.pk)
    claims.claim_release(ibm_member, claim)
    with pytest.raises(claims.NotActive):
        claims.claim_release(ibm_member, stale)
    with pytest.raises(claims.NotActive):
        claims.claim_change_role(ibm_member, stale, "reviewer")
    assert ActivityEvent.objects.filter(verb="released").count() == 1


def test_it_rejects_an_unknown_role(ibm_member, pid_ns, ibm):
    with pytest.raises(claims.InvalidRole, match="lead, contributor, reviewer, interested"):
        claims.claim_create(ibm_member, pid_ns, ibm, "owner")


def test_it_refuses_claims_for_a_pending_stakeholder(maintainer, pid_ns):
    pending = Stakeholder.objects.create(slug="acme", name="Acme", kind="company")
    with pytest.raises(claims.NotAllowed, match="not accepted"):
        claims.claim_create(maintainer, pid_ns, pending, "lead")


def test_it_keeps_the_activity_log_append_only(ibm_member, pid_ns, ibm):
    claims.claim_create(ibm_member, pid_ns, ibm, "lead")
    event = ActivityEvent.objects.get()
    event.verb = "released"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        ActivityEvent.objects.all().update(verb="released")
    with pytest.raises(TypeError):
        ActivityEvent.objects.all().delete()
    assert ActivityEvent.objects.get().verb == "claimed"
