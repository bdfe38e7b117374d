"""Proposals (items, stakeholders, join requests) and the activity page, per persona."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from roadmap import selectors
from roadmap.models import (
    ActivityEvent,
    Area,
    ItemStatus,
    JoinRequest,
    Membership,
    RoadmapItem,
    Stakeholder,
    StakeholderState,
    Verb,
)
from roadmap.services import proposals

SIGNED_IN = ["ibm_member", "openvz_member", "outsider", "maintainer"]
NOT_MAINTAINERS = ["ibm_member", "openvz_member", "outsider"]


@pytest.fixture
def persona(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def new_namespaces(seeded):
    return Area.objects.get(slug="new-namespaces")


@pytest.fixture
def proposed_item(outsider, new_namespaces):
    return proposals.item_propose(outsider, new_namespaces, "Mount namespace ID mapping", "idmap")


@pytest.fixture
def pending(outsider):
    return proposals.stakeholder_propose(outsider, "Virtuozzo", "company", "someone@example.org")


@pytest.fixture
def join(outsider, seeded):
    return proposals.join_request_create(outsider, Stakeholder.objects.get(slug="ibm"))


def propose_item(client, **data):  # noqa: ANN001,ANN003,ANN201
    fields = {
        "area": "new-namespaces",
        "parent": "",
        "title": "Cgroup namespace",
        "description": "",
    }
    fields.update(data)
    return client.post(reverse("item_propose"), {f"item-{k}": v for k, v in fields.items()})


def propose_stakeholder(client, **data):  # noqa: ANN001,ANN003,ANN201
    fields = {"name": "Parallels", "kind": "company", "contact": ""}
    fields.update(data)
    return client.post(
        reverse("stakeholder_propose"), {f"stakeholder-{k}": v for k, v in fields.items()}
    )


def ask_to_join(client, slug):  # noqa: ANN001,ANN201
    return client.post(reverse("join_request_create"), {"join-stakeholder": slug})


def events(verb: Verb) -> list[ActivityEvent]:
    return list(ActivityEvent.objects.filter(verb=verb))


# --- The page, anonymous ------------------------------------------------------------------


def test_it_shows_anonymous_users_the_lists_and_a_sign_in_link(
    client, proposed_item, pending, join
):
    body = client.get(reverse("proposals")).content.decode()
    assert "Mount namespace ID mapping" in body and "Virtuozzo" in body
    assert "oscar-outsider" in body and "IBM" in body
    assert "/accounts/login/?next=/proposals/" in body
    assert "Propose the item" not in body and "Accept" not in body


def test_it_lists_only_proposals_made_through_the_flow(client, seeded, proposed_item):
    seed_proposal = RoadmapItem.objects.filter(
        status=ItemStatus.PROPOSED, proposed_by__isnull=True
    ).first()
    if seed_proposal is None:  # the seed's question marks normally give some
        seed_proposal = RoadmapItem.objects.first()
        RoadmapItem.objects.filter(pk=seed_proposal.pk).update(status=ItemStatus.PROPOSED)
    listed = selectors.proposals_open().items
    assert listed == [proposed_item]
    assert seed_proposal not in listed


@pytest.mark.parametrize(
    "name,args",
    [
        ("item_propose", []),
        ("item_accept", ["user-namespace"]),
        ("item_reject", ["user-namespace"]),
        ("stakeholder_propose", []),
        ("stakeholder_accept", ["ibm"]),
        ("join_request_create", []),
        ("join_request_accept", [1]),
        ("join_request_reject", [1]),
    ],
)
def test_it_sends_anonymous_users_to_sign_in_for_every_action(client, seeded, name, args):
    before = (
        RoadmapItem.objects.count(),
        Stakeholder.objects.count(),
        ActivityEvent.objects.count(),
    )
    response = client.post(reverse(name, args=args), {"item-title": "x"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    after = (
        RoadmapItem.objects.count(),
        Stakeholder.objects.count(),
        ActivityEvent.objects.count(),
    )
    assert after == before


def test_it_refuses_a_post_without_the_csrf_token(outsider):
    client = Client(enforce_csrf_checks=True)
    client.force_login(outsider)
    assert propose_item(client).status_code == 403
    assert not RoadmapItem.objects.filter(title="Cgroup namespace").exists()


def test_it_refuses_get_on_actions(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("item_propose")).status_code == 405


# --- "What more needs to be added to this list?" ------------------------------------------


@pytest.mark.parametrize("persona", SIGNED_IN, indirect=True)
def test_it_lets_any_signed_in_user_propose_an_item(client, persona):
    client.force_login(persona)
    response = propose_item(client, parent="user-namespace", description="nsproxy + cgroupfs")
    assert response.status_code == 302 and response["Location"] == reverse("proposals")
    item = RoadmapItem.objects.get(title="Cgroup namespace")
    assert item.status == ItemStatus.PROPOSED and item.proposed_by == persona
    assert item.slug == "cgroup-namespace" and item.parent.slug == "user-namespace"
    assert item.description == "nsproxy + cgroupfs"
    [event] = events(Verb.ITEM_PROPOSED)
    assert event.actor == persona and event.item == item
    assert "Cgroup namespace" in client.get(reverse("proposals")).content.decode()


def test_it_derives_a_unique_slug_from_the_title(client, outsider):
    client.force_login(outsider)
    # Same words as a seeded item's slug, in another area: a fresh slug, no clash.
    assert propose_item(client, area="virtual-servers", title="User namespace!").status_code == 302
    assert propose_item(client, area="task-containers", title="User  namespace").status_code == 302
    slugs = set(RoadmapItem.objects.filter(proposed_by=outsider).values_list("slug", flat=True))
    assert slugs == {"user-namespace-2", "user-namespace-3"}


@pytest.mark.parametrize(
    "data,message",
    [
        ({"title": ""}, "This field is required"),
        ({"title": "   "}, "This field is required"),
        ({"area": "no-such-area"}, "Select a valid choice"),
        ({"parent": "no-such-item"}, "Select a valid choice"),
        ({"parent": "memory-cr"}, "belongs to another area"),
        ({"title": "x" * 201}, "at most 200 characters"),
    ],
)
def test_it_answers_400_for_an_invalid_item_proposal(client, outsider, data, message):
    client.force_login(outsider)
    count = RoadmapItem.objects.count()
    response = propose_item(client, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert RoadmapItem.objects.count() == count and not ActivityEvent.objects.exists()


def test_it_answers_400_for_a_duplicate_item_in_the_same_area(client, outsider, proposed_item):
    client.force_login(outsider)
    response = propose_item(client, title="mount namespace id mapping")
    assert response.status_code == 400
    assert "already has an item called" in response.content.decode()
    assert RoadmapItem.objects.filter(proposed_by=outsider).count() == 1
    assert len(events(Verb.ITEM_PROPOSED)) == 1


@pytest.mark.parametrize(
    "action,status", [("item_accept", "planned"), ("item_reject", "abandoned")]
)
def test_it_lets_a_maintainer_decide_on_an_item(client, maintainer, proposed_item, action, status):
    client.force_login(maintainer)
    response = client.post(reverse(action, args=[proposed_item.slug]))
    assert response.status_code == 302
    proposed_item.refresh_from_db()
    assert proposed_item.status == status
    [event] = events(Verb.ITEM_STATUS_CHANGED)
    assert event.actor == maintainer and event.item == proposed_item
    assert event.data == {"old": "proposed", "new": status}
    assert proposed_item not in selectors.proposals_open().items


@pytest.mark.parametrize("persona", NOT_MAINTAINERS, indirect=True)
@pytest.mark.parametrize("action", ["item_accept", "item_reject"])
def test_it_refuses_non_maintainers_deciding_on_an_item(client, persona, proposed_item, action):
    client.force_login(persona)
    assert client.post(reverse(action, args=[proposed_item.slug])).status_code == 403
    proposed_item.refresh_from_db()
    assert proposed_item.status == ItemStatus.PROPOSED
    assert not events(Verb.ITEM_STATUS_CHANGED)


def test_it_answers_409_for_a_proposal_already_decided(client, maintainer, proposed_item):
    client.force_login(maintainer)
    client.post(reverse("item_accept", args=[proposed_item.slug]))
    response = client.post(reverse("item_reject", args=[proposed_item.slug]))
    assert response.status_code == 409
    assert "no longer an open proposal" in response.content.decode()
    proposed_item.refresh_from_db()
    assert proposed_item.status == ItemStatus.PLANNED
    assert len(events(Verb.ITEM_STATUS_CHANGED)) == 1


def test_it_does_not_decide_on_seeded_items(client, maintainer):
    client.force_login(maintainer)
    assert client.post(reverse("item_reject", args=["user-namespace"])).status_code == 409
    assert RoadmapItem.objects.get(slug="user-namespace").status != ItemStatus.ABANDONED


def test_it_answers_404_for_an_unknown_item(client, maintainer):
    client.force_login(maintainer)
    assert client.post(reverse("item_accept", args=["nope"])).status_code == 404


# --- "Who is missing from the list?" ------------------------------------------------------


@pytest.mark.parametrize("persona", SIGNED_IN, indirect=True)
def test_it_lets_any_signed_in_user_propose_a_stakeholder(client, persona):
    client.force_login(persona)
    response = propose_stakeholder(client, contact="kir@example.org", join="on")
    assert response.status_code == 302
    stakeholder = Stakeholder.objects.get(name="Parallels")
    assert stakeholder.state == StakeholderState.PENDING and stakeholder.slug == "parallels"
    assert stakeholder.contact == "kir@example.org"
    [event] = events(Verb.STAKEHOLDER_PROPOSED)
    assert event.actor == persona and event.stakeholder == stakeholder
    assert JoinRequest.objects.get().user == persona


def test_it_proposes_a_stakeholder_without_joining_it(client, outsider):
    client.force_login(outsider)
    assert propose_stakeholder(client).status_code == 302
    assert not JoinRequest.objects.exists()


@pytest.mark.parametrize(
    "data,message",
    [
        ({"name": "ibm"}, "already on the list of stakeholders"),
        ({"name": ""}, "This field is required"),
        ({"kind": "government"}, "Select a valid choice"),
    ],
)
def test_it_answers_400_for_an_invalid_stakeholder(client, outsider, data, message):
    client.force_login(outsider)
    count = Stakeholder.objects.count()
    response = propose_stakeholder(client, join="on", **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Stakeholder.objects.count() == count
    assert not ActivityEvent.objects.exists() and not JoinRequest.objects.exists()


def test_it_lets_a_maintainer_accept_a_stakeholder(client, maintainer, pending):
    client.force_login(maintainer)
    assert client.post(reverse("stakeholder_accept", args=[pending.slug])).status_code == 302
    pending.refresh_from_db()
    assert pending.state == StakeholderState.ACCEPTED
    [event] = events(Verb.STAKEHOLDER_ACCEPTED)
    assert event.actor == maintainer and event.stakeholder == pending
    again = client.post(reverse("stakeholder_accept", args=[pending.slug]))
    assert again.status_code == 409 and len(events(Verb.STAKEHOLDER_ACCEPTED)) == 1


@pytest.mark.parametrize("persona", NOT_MAINTAINERS, indirect=True)
def test_it_refuses_non_maintainers_accepting_a_stakeholder(client, persona, pending):
    client.force_login(persona)
    assert client.post(reverse("stakeholder_accept", args=[pending.slug])).status_code == 403
    pending.refresh_from_db()
    assert pending.state == StakeholderState.PENDING


# --- Join requests ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["openvz_member", "outsider", "maintainer"], indirect=True)
def test_it_lets_a_signed_in_user_ask_to_join(client, persona):
    client.force_login(persona)
    assert ask_to_join(client, "ibm").status_code == 302
    request = JoinRequest.objects.get()
    assert request.user == persona and request.stakeholder.slug == "ibm"
    assert request.decided_at is None and request.accepted is None


def test_it_answers_400_for_a_second_open_request(client, outsider, join):
    client.force_login(outsider)
    response = ask_to_join(client, "ibm")
    assert response.status_code == 400
    assert "already asked to join IBM" in response.content.decode()
    assert JoinRequest.objects.count() == 1


def test_it_answers_400_for_joining_ones_own_stakeholder(client, ibm_member):
    client.force_login(ibm_member)
    response = ask_to_join(client, "ibm")
    assert response.status_code == 400 and "already a member of IBM" in response.content.decode()
    assert not JoinRequest.objects.exists()


def test_it_answers_400_for_an_unknown_stakeholder(client, outsider):
    client.force_login(outsider)
    assert ask_to_join(client, "nope").status_code == 400
    assert not JoinRequest.objects.exists()


def test_it_lets_a_maintainer_accept_a_join_request(client, maintainer, outsider, join):
    client.force_login(maintainer)
    assert client.post(reverse("join_request_accept", args=[join.pk])).status_code == 302
    join.refresh_from_db()
    assert join.accepted is True and join.decided_at is not None
    assert Membership.objects.filter(user=outsider, stakeholder__slug="ibm").exists()
    [event] = events(Verb.MEMBERSHIP_ADDED)
    assert event.actor == outsider and event.stakeholder.slug == "ibm"
    assert event.data == {"accepted_by": "maint"}
    again = client.post(reverse("join_request_reject", args=[join.pk]))
    assert again.status_code == 409


def test_it_lets_a_maintainer_reject_a_join_request_and_the_user_ask_again(
    client, maintainer, outsider, join
):
    client.force_login(maintainer)
    assert client.post(reverse("join_request_reject", args=[join.pk])).status_code == 302
    join.refresh_from_db()
    assert join.accepted is False
    assert not Membership.objects.filter(user=outsider).exists()
    assert not events(Verb.MEMBERSHIP_ADDED)
    client.force_login(outsider)
    assert ask_to_join(client, "ibm").status_code == 302  # the old request is decided


@pytest.mark.parametrize("persona", NOT_MAINTAINERS, indirect=True)
@pytest.mark.parametrize("action", ["join_request_accept", "join_request_reject"])
def test_it_refuses_non_maintainers_deciding_on_a_join_request(client, persona, join, action):
    client.force_login(persona)
    assert client.post(reverse(action, args=[join.pk])).status_code == 403
    join.refresh_from_db()
    assert join.decided_at is None
    assert not Membership.objects.filter(user__username="oscar-outsider").exists()


def test_it_shows_maintainers_the_decision_buttons(
    client, maintainer, proposed_item, pending, join
):
    client.force_login(maintainer)
    body = client.get(reverse("proposals")).content.decode()
    assert reverse("item_accept", args=[proposed_item.slug]) in body
    assert reverse("stakeholder_accept", args=[pending.slug]) in body
    assert reverse("join_request_reject", args=[join.pk]) in body


@pytest.mark.parametrize("persona", NOT_MAINTAINERS, indirect=True)
def test_it_shows_others_the_forms_but_no_decisions(client, persona, proposed_item):
    client.force_login(persona)
    body = client.get(reverse("proposals")).content.decode()
    assert "Propose the item" in body and "Propose the stakeholder" in body
    assert "Ask to join" in body
    assert reverse("item_accept", args=[proposed_item.slug]) not in body


# --- The activity page --------------------------------------------------------------------


def test_it_shows_recent_activity_newest_first(client, maintainer, proposed_item, join):
    proposals.item_proposal_accept(maintainer, proposed_item)
    proposals.join_request_accept(maintainer, join)
    body = client.get(reverse("activity")).content.decode()
    joined = body.index("oscar-outsider joined")
    changed = body.index("maint changed status of")
    proposed = body.index("oscar-outsider proposed item")
    assert joined < changed < proposed
    assert "(proposed → planned)" in body and "(accepted by maint)" in body
    assert 'rel="next"' not in body


def _events(n: int) -> None:
    from django.contrib.auth import get_user_model

    users = list(get_user_model().objects.all())
    items = list(RoadmapItem.objects.all())
    holders = list(Stakeholder.objects.all())
    ActivityEvent.objects.bulk_create(
        ActivityEvent(
            actor=users[i % len(users)],
            verb=Verb.CLAIMED,
            item=items[i % len(items)],
            stakeholder=holders[i % len(holders)],
            data={"role": "lead"},
        )
        for i in range(n)
    )


def test_it_pages_activity_by_id(client, outsider):
    _events(selectors.ACTIVITY_PAGE_SIZE + 5)
    first = client.get(reverse("activity"))
    page = first.context["page"]
    assert len(page.events) == selectors.ACTIVITY_PAGE_SIZE
    ids = [e.pk for e in page.events]
    assert ids == sorted(ids, reverse=True)
    assert f'?before={page.older}" rel="next">Older' in first.content.decode()
    second = client.get(reverse("activity"), {"before": page.older}).context["page"]
    assert len(second.events) == 5 and second.older is None
    assert max(e.pk for e in second.events) < min(ids)


@pytest.mark.parametrize("before", ["x", "-1", "1.5", "١"])
def test_it_answers_400_for_a_bad_page_marker(client, seeded, before):
    assert client.get(reverse("activity"), {"before": before}).status_code == 400


@pytest.mark.parametrize("n", [3, 150])
def test_the_activity_page_uses_a_fixed_number_of_queries(
    client, maintainer, django_assert_num_queries, n
):
    _events(n)
    client.force_login(maintainer)
    # session, user, acting_for (permissions, groups, stakeholders), events
    with django_assert_num_queries(6):
        response = client.get(reverse("activity"))
    assert response.status_code == 200


@pytest.mark.parametrize("n", [1, 20])
def test_the_proposals_page_uses_a_fixed_number_of_queries(
    client, maintainer, new_namespaces, django_assert_num_queries, n
):
    for i in range(n):
        item = proposals.item_propose(maintainer, new_namespaces, f"Idea {i}")
        holder = proposals.stakeholder_propose(maintainer, f"Org {i}", "lab", join=True)
        assert item and holder
    client.force_login(maintainer)
    with django_assert_num_queries(11):
        response = client.get(reverse("proposals"))
    assert response.status_code == 200
