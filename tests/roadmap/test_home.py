"""The home page: the roadmap tree with its claims, in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from roadmap.models import RoadmapItem, Stakeholder
from roadmap.services import claims

from ..probes.factories import observe


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


UTS, IPC = "ns.pid.isolation", "ns.pid.proc_mount"  # both give evidence for pid-namespace


@pytest.fixture
def catalogue(seeded):
    from probes.services.catalogue import catalogue_sync

    catalogue_sync()


def section(body: str, area_slug: str) -> str:
    start = body.index(f'id="area-{area_slug}"')
    end = body.find("</section>", start)
    return body[start:end]


# With no kernel at all Django skips the latest-results query (an empty IN list), so the
# counts below are taken with results present: areas, items, claims, stakeholders (for the
# filter form), kernels, probes, latest results.
HOME_QUERIES = 7


@pytest.mark.parametrize(("extra_claims", "kernels"), [(0, 1), (12, 8)])
def test_it_uses_a_fixed_number_of_queries(
    client, maintainer, catalogue, django_assert_num_queries, extra_claims, kernels
):
    items = list(RoadmapItem.objects.all())
    holders = list(Stakeholder.objects.all())
    for n in range(extra_claims):
        claims.claim_create(
            maintainer, items[n % len(items)], holders[n // len(items)], "interested"
        )
    for n in range(kernels):
        observe(f"h{n % 3}", f"6.{n}.0", {UTS: "pass", IPC: "fail" if n % 2 else "pass"})
    with django_assert_num_queries(HOME_QUERIES):
        assert client.get(reverse("home")).status_code == 200
    with django_assert_num_queries(HOME_QUERIES):
        url = reverse("home") + "?status=planned&claimed_by=ibm&area=new-namespaces"
        assert client.get(url).status_code == 200


def test_it_shows_each_items_evidence_summary(client, catalogue):
    observe("a", "5.10.0", {UTS: "pass", IPC: "pass"})
    observe("a", "6.1.0", {UTS: "pass", IPC: "fail"})
    observe("a", "6.18.0", {UTS: "pass", IPC: "pass"})
    body = client.get(reverse("home")).content.decode()
    item = body[body.index('id="item-pid-namespace"') :]
    item = item[: item.index("</li>\n")]
    assert "Evidence: passes on 2 of 3 kernels, since 5.10.0; regressed on 6.1.0" in item
    assert "Evidence: no evidence yet" in body or "Evidence: no probes yet" in body


def test_it_filters_by_area(client, seeded):
    body = client.get(reverse("home"), {"area": "checkpoint-restart"}).content.decode()
    assert 'id="area-checkpoint-restart"' in body
    assert 'id="area-new-namespaces"' not in body
    assert ">memory c/r</a>" in body


def test_it_filters_by_status_and_keeps_parents_as_context(client, seeded):
    body = client.get(reverse("home"), {"status": "proposed"}).content.decode()
    cr = section(body, "checkpoint-restart")
    assert ">per-container swapfile?</a>" in cr
    parent = cr[cr.index('id="item-memory-cr"') :]
    assert parent.startswith('id="item-memory-cr"')
    assert 'class="item depth-0 context"' in cr
    assert "(context: does not match the filters)" in parent[: parent.index("</li>")]
    assert cr.index('id="item-memory-cr"') < cr.index('id="item-per-container-swapfile"')
    assert ">overall restart strategy</a>" not in body  # planned, not proposed


def test_it_filters_by_claimant_and_unclaimed_only(client, ibm_member):
    item = RoadmapItem.objects.get(slug="user-namespace")
    claims.claim_create(ibm_member, item, Stakeholder.objects.get(slug="ibm"), "lead")
    body = client.get(reverse("home"), {"claimed_by": "ibm"}).content.decode()
    assert ">user</a>" in body
    assert "1 item matches" in body
    assert ">pid namespace</a>" not in body

    body = client.get(reverse("home"), {"unclaimed": "on"}).content.decode()
    assert ">user</a>" not in body
    assert ">pid namespace</a>" in body


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"area": "no-such-area"}, "Select a valid choice"),
        ({"status": "done-ish"}, "Select a valid choice"),
        ({"claimed_by": "nobody"}, "Select a valid choice"),
        ({"claimed_by": "ibm", "unclaimed": "on"}, "Choose either a stakeholder or unclaimed"),
    ],
)
def test_it_answers_bad_filters_with_400_and_a_message(client, seeded, query, message):
    response = client.get(reverse("home"), query)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'role="alert"' in body
    assert ">pid namespace</a>" in body  # the whole roadmap, unfiltered
