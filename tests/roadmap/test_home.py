"""The home page: the roadmap tree with its claims, in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from roadmap.models import RoadmapItem, Stakeholder
from roadmap.services import claims


def test_it_lists_every_area_and_item_in_order(client, seeded):
    body = client.get(reverse("home")).content.decode()
    titles = list(
        RoadmapItem.objects.order_by("area__position", "position").values_list("title", flat=True)
    )
    positions = [body.index(f">{t}</a>") for t in titles]
    assert positions == sorted(positions)
    assert "5. checkpoint/restart" in body
    assert body.count(">unclaimed<") == len(titles)


def test_it_shows_claims_and_who_is_signed_in(client, ibm_member):
    item = RoadmapItem.objects.get(slug="user-namespace")
    claims.claim_create(ibm_member, item, Stakeholder.objects.get(slug="ibm"), "lead")
    client.force_login(ibm_member)
    body = client.get(reverse("home")).content.decode()
    assert '<a href="/stakeholders/ibm/">IBM</a>: Lead</li>' in body
    assert "Signed in as <strong>alice-ibm</strong>, acting for IBM" in body


@pytest.mark.parametrize("extra_claims", [0, 12])
def test_it_uses_a_fixed_number_of_queries(
    client, maintainer, django_assert_num_queries, extra_claims
):
    items = list(RoadmapItem.objects.all())
    holders = list(Stakeholder.objects.all())
    for n in range(extra_claims):
        claims.claim_create(
            maintainer, items[n % len(items)], holders[n // len(items)], "interested"
        )
    with django_assert_num_queries(3):
        assert client.get(reverse("home")).status_code == 200
