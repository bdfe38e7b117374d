"""The read side: filters, cursor pagination, what is (not) shown, and fixed query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from probes.models import Host, Kernel, Probe, ProbeRun
from roadmap.models import ActivityEvent, Area, Claim, RoadmapItem, Stakeholder
from roadmap.services.claims import claim_create, claim_release

from .conftest import results_make


def slugs(response) -> list[str]:  # noqa: ANN001 - a test response
    assert response.status_code == 200, response.content
    return [row["slug"] for row in response.json()["results"]]


@pytest.fixture
def claimed(ibm_member, openvz_member, pid_ns, ibm):
    claim_create(ibm_member, pid_ns, ibm, "lead")
    net = RoadmapItem.objects.get(slug="net-namespace")
    openvz = Stakeholder.objects.get(slug="openvz")
    released = claim_create(openvz_member, net, openvz, "reviewer")
    claim_release(openvz_member, released)
    return pid_ns


def test_it_filters_items_by_area_status_claimer_and_unclaimed(api, claimed):
    area = slugs(api.get("/api/v1/items/?area=ongoing-namespaces&page_size=100"))
    assert "pid-namespace" in area
    assert set(area) == set(
        RoadmapItem.objects.filter(area__slug="ongoing-namespaces").values_list("slug", flat=True)
    )
    in_progress = slugs(api.get("/api/v1/items/?status=in_progress&page_size=100"))
    assert set(in_progress) == set(
        RoadmapItem.objects.filter(status="in_progress").values_list("slug", flat=True)
    )
    assert slugs(api.get("/api/v1/items/?claimed_by=ibm")) == ["pid-namespace"]
    assert slugs(api.get("/api/v1/items/?claimed_by=openvz")) == []  # released
    assert slugs(api.get("/api/v1/items/?unclaimed=false")) == ["pid-namespace"]
    unclaimed = slugs(api.get("/api/v1/items/?unclaimed=true&page_size=500"))
    assert len(unclaimed) == RoadmapItem.objects.count() - 1
    assert "pid-namespace" not in unclaimed and "net-namespace" in unclaimed


def test_it_shows_active_claims_on_items_and_stakeholders(api, claimed):
    item = api.get("/api/v1/items/pid-namespace/").json()
    assert [(c["stakeholder"], c["role"]) for c in item["claims"]] == [("ibm", "lead")]
    assert api.get("/api/v1/items/net-namespace/").json()["claims"] == []
    ibm = api.get("/api/v1/stakeholders/ibm/").json()
    assert [(c["item"], c["role"]) for c in ibm["claims"]] == [("pid-namespace", "lead")]
    assert api.get("/api/v1/stakeholders/openvz/").json()["claims"] == []
    active = api.get("/api/v1/claims/?active=true").json()["results"]
    released = api.get("/api/v1/claims/?active=false").json()["results"]
    assert [(c["item"], c["stakeholder"]) for c in active] == [("pid-namespace", "ibm")]
    assert [(c["stakeholder"], c["released_by"]) for c in released] == [("openvz", "olga-openvz")]


def test_it_lists_activity_newest_first(api, claimed):
    verbs = [e["verb"] for e in api.get("/api/v1/activity/").json()["results"]]
    assert verbs == ["released", "claimed", "claimed"]
    assert [e["verb"] for e in api.get("/api/v1/activity/?verb=claimed").json()["results"]] == [
        "claimed",
        "claimed",
    ]


def test_it_shows_hosts_without_their_secret(api, host):
    answer = api.get("/api/v1/hosts/")
    assert host.secret not in answer.content.decode()
    (row,) = answer.json()["results"]
    assert row == {
        "name": "lab-1",
        "state": "pending",
        "kernel": None,
        "last_seen_at": None,
        "allow_intrusive": False,
        "created_at": row["created_at"],
    }
    assert host.secret not in api.get("/api/v1/hosts/lab-1/").content.decode()


def test_it_links_probes_to_their_area_and_item(api, catalogue):
    probe = api.get("/api/v1/probes/ns.pid.isolation/").json()
    assert (probe["area"], probe["item"]) == ("ongoing-namespaces", "pid-namespace")
    assert probe["item_url"].endswith("/api/v1/items/pid-namespace/")
    assert api.get(probe["item_url"]).json()["slug"] == "pid-namespace"
    assert api.get(probe["area_url"]).json()["slug"] == "ongoing-namespaces"


def test_it_finds_kernels_by_release(api, host):
    results_make(host, 1, release="6.1.0-13+b1")
    kernel = api.get("/api/v1/kernels/6.1.0-13+b1/").json()
    assert (kernel["release"], kernel["version"]) == ("6.1.0-13+b1", "6.1.0")


def test_it_filters_results(api, host):
    made = results_make(host, 30)
    results_make(host, 10, release="5.10.0-old")
    probe = made[0].probe_id

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/results/?page_size=1000&{query}")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert len(ids("kernel=6.18.44-test")) == 30
    assert len(ids("kernel=5.10.0-old")) == 10
    assert len(ids("host=lab-1")) == 40 and ids("host=lab-2") == []
    assert set(ids(f"probe={probe}&kernel=6.18.44-test")) == {
        r.pk for r in made if r.probe_id == probe
    }
    assert set(ids("status=fail&kernel=6.18.44-test")) == {r.pk for r in made if r.status == "fail"}
    middle = made[10].observed_at
    window = ids(
        "kernel=6.18.44-test&observed_after="
        + middle.isoformat().replace("+00:00", "Z")
        + "&observed_before="
        + (middle + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    )
    assert set(window) == {r.pk for r in made[10:15]}


def test_it_pages_results_by_cursor_newest_first_without_gaps_or_repeats(api, host):
    made = results_make(host, 25)
    seen: list[int] = []
    url = "/api/v1/results/?page_size=7"
    first = True
    while url:
        page = api.get(url).json()
        assert "count" not in page  # a cursor never counts the history
        seen += [r["id"] for r in page["results"]]
        if first:  # results arriving between pages do not shift the pages
            results_make(host, 3)
            first = False
        url = page["next"]
    assert seen == sorted((r.pk for r in made), reverse=True)


def world(size: int) -> None:
    """``size`` more of everything every list shows, with all their relations."""
    user = get_user_model().objects.create_user(f"world-{size}")
    user.groups.add(*get_user_model().objects.get(username="maint").groups.all())
    host = Host.objects.create(name=f"host-{size}")
    for n in range(size):
        area = Area.objects.create(slug=f"a-{size}-{n}", title="A", theme="namespaces", position=9)
        parent = RoadmapItem.objects.create(area=area, slug=f"p-{size}-{n}", title="P", position=0)
        item = RoadmapItem.objects.create(
            area=area, parent=parent, slug=f"i-{size}-{n}", title="I", position=1
        )
        holder = Stakeholder.objects.create(
            slug=f"s-{size}-{n}", name=f"S {size} {n}", kind="company", state="accepted"
        )
        claim_create(user, item, holder, "lead")
        claim_create(user, parent, holder, "reviewer")
        kernel = Kernel.objects.create(release=f"6.{size}.{n}")
        Host.objects.create(name=f"h-{size}-{n}", kernel=kernel, last_seen_at=timezone.now())
        Probe.objects.create(id=f"x.{size}.{n}", title="X", area=area, item=item, since="2.6")
        ProbeRun.objects.create(host=host, kernel=kernel, trigger="api", requested_by=user)
    results_make(host, size * 3)


LISTS = [
    ("/api/v1/areas/", 2),
    ("/api/v1/items/", 3),
    ("/api/v1/items/?unclaimed=false&status=planned", 3),
    ("/api/v1/stakeholders/", 3),
    ("/api/v1/claims/", 2),
    ("/api/v1/activity/", 1),
    ("/api/v1/probes/", 2),
    ("/api/v1/hosts/", 2),
    ("/api/v1/kernels/", 2),
    ("/api/v1/runs/", 2),
    ("/api/v1/results/", 1),
    ("/api/v1/results/?kernel=6.18.44-test&status=pass", 1),
]


@pytest.mark.parametrize(("url", "queries"), LISTS)
def test_it_lists_in_a_fixed_number_of_queries_whatever_the_size(
    api, maintainer, catalogue, django_assert_num_queries, url, queries
):
    world(2)
    with django_assert_num_queries(queries):
        small = api.get(url)
    world(12)
    with django_assert_num_queries(queries):
        large = api.get(url)
    assert small.status_code == large.status_code == 200
    assert len(large.json()["results"]) >= len(small.json()["results"])
    assert Claim.objects.count() >= 28 and ActivityEvent.objects.count() >= 28
