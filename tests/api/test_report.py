"""The summit report: content against seeded claims and results, ``since``, Markdown, ETags."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from roadmap.models import RoadmapItem, Stakeholder
from roadmap.report import summit_report
from roadmap.services.claims import claim_change_role, claim_create, claim_release

from ..probes.factories import observe

URL = "/api/v1/report/"
PID, PID_INIT, NET, UTS = (
    "ns.pid.isolation",
    "ns.pid.init_semantics",
    "ns.net.isolation",
    "ns.uts.isolation",
)


def item(slug: str) -> RoadmapItem:
    return RoadmapItem.objects.get(slug=slug)


def stakeholder(slug: str) -> Stakeholder:
    return Stakeholder.objects.get(slug=slug)


@pytest.fixture
def claims(ibm_member, openvz_member):
    """IBM leads the pid namespace, OpenVZ contributes; OpenVZ released the net namespace."""
    claim_create(ibm_member, item("pid-namespace"), stakeholder("ibm"), "lead", "Suka's patches")
    claim_create(openvz_member, item("pid-namespace"), stakeholder("openvz"), "contributor")
    net = claim_create(openvz_member, item("net-namespace"), stakeholder("openvz"), "reviewer")
    claim_release(openvz_member, net)
    claim_create(openvz_member, item("user-namespace"), stakeholder("openvz"), "interested")


@pytest.fixture
def results(catalogue):
    """pid: unsupported on 5.4, passes on 5.10 (both probes), regressed on 6.18;
    net: hosts disagree on 6.1 (partial)."""
    observe("a", "5.4.0", {PID: "unsupported", PID_INIT: "unsupported"})
    observe("a", "5.10.0", {PID: "pass", PID_INIT: "pass"})
    observe("b", "5.10.0", {PID: "pass"})
    observe("a", "6.18.0", {PID: "fail", PID_INIT: "pass"})
    observe("a", "6.1.0", {NET: "pass"})
    observe("b", "6.1.0", {NET: "fail"})


def report_item(report: dict, slug: str) -> dict:
    return next(i for area in report["areas"] for i in area["items"] if i["slug"] == slug)


def test_it_lists_owners_with_roles_lead_first(api, claims):
    report = api.get(URL).json()
    owners = report_item(report, "pid-namespace")["owners"]
    assert owners == [
        {"stakeholder": "ibm", "name": "IBM", "role": "lead", "note": "Suka's patches"},
        {"stakeholder": "openvz", "name": "OpenVZ", "role": "contributor", "note": ""},
    ]
    assert report_item(report, "net-namespace")["owners"] == []  # released
    assert report_item(report, "user-namespace")["owners"][0]["role"] == "interested"


def test_it_gives_the_summary_and_the_unclaimed_items(api, claims):
    report = api.get(URL).json()
    assert report["schema"] == 1 and report["since"] is None and "changes" not in report
    assert report["generated_at"].endswith("Z")
    total = RoadmapItem.objects.count()
    summary = report["summary"]
    assert (summary["items"], summary["claimed"], summary["unclaimed"]) == (total, 2, total - 2)
    assert summary["stakeholders"] == 2  # IBM and OpenVZ hold active claims
    assert sum(summary["by_status"].values()) == total
    assert (
        summary["by_status"]["in_progress"]
        == RoadmapItem.objects.filter(status="in_progress").count()
    )
    assert "net-namespace" in report["unclaimed"]
    assert (
        "pid-namespace" not in report["unclaimed"] and "user-namespace" not in report["unclaimed"]
    )
    assert len(report["unclaimed"]) == total - 2
    areas = [a["slug"] for a in report["areas"]]
    assert areas[0] == "ongoing-namespaces" and len(areas) == 5
    assert report_item(report, "per-container-swapfile")["depth"] == 1
    assert report_item(report, "pid-namespace")["depth"] == 0


def test_it_gives_evidence_per_kernel_for_each_item(api, claims, results):
    report = api.get(URL).json()
    pid = report_item(report, "pid-namespace")["evidence"]
    assert pid["summary"] == "passes on 1 of 3 kernels, since 5.10.0; regressed on 6.18.0"
    assert (pid["since"], pid["regressed_on"]) == ("5.10.0", ["6.18.0"])
    assert list(pid["kernels"]) == ["5.4.0", "5.10.0", "6.18.0"]  # by version
    assert pid["kernels"]["5.4.0"] == {
        "status": "unsupported",
        "hosts": 1,
        "split": {"unsupported": 2},
    }
    assert pid["kernels"]["5.10.0"] == {"status": "pass", "hosts": 2, "split": {"pass": 3}}
    assert pid["kernels"]["6.18.0"] == {
        "status": "partial",
        "hosts": 1,
        "split": {"fail": 1, "pass": 1},
    }
    net = report_item(report, "net-namespace")["evidence"]
    assert net["summary"] == "passes on 0 of 1 kernels"
    assert net["kernels"] == {
        "6.1.0": {"status": "partial", "hosts": 2, "split": {"fail": 1, "pass": 1}}
    }
    time_ns = report_item(report, "time-namespace")["evidence"]
    assert time_ns == {
        "summary": "no evidence yet",
        "kernels": {},
        "since": None,
        "regressed_on": [],
    }
    assert report["summary"]["kernels"] == 4


def test_it_lists_open_regressions(api, results):
    report = api.get(URL).json()
    assert report["regressions"] == [
        {
            "probe": PID,
            "title": report["regressions"][0]["title"],
            "area": "ongoing-namespaces",
            "item": "pid-namespace",
            "kernel": "6.18.0",
            "status": "fail",
            "hosts": 1,
            "split": {"fail": 1},
            "passed_since": "5.10.0",
        }
    ]
    assert report["summary"]["regressions"] == 1


def test_it_adds_what_changed_since_a_date(api, ibm_member, openvz_member, claims, results):
    cut = timezone.now()
    pid_lead = item("pid-namespace").claims.get(stakeholder__slug="ibm", released_at=None)
    claim_change_role(ibm_member, pid_lead, "reviewer")
    user_ns = item("user-namespace").claims.get(released_at=None)
    claim_release(openvz_member, user_ns)
    claim_create(ibm_member, item("time-namespace"), stakeholder("ibm"), "lead")
    observe("a", "6.1.0", {UTS: "pass"})  # first pass of uts anywhere
    observe("b", "5.10.0", {PID_INIT: "pass"})  # passed on 5.10 before the cut
    observe("c", "6.18.0", {PID: "fail"})  # a fresh look at a regressed cell

    since = cut.isoformat()
    changes = api.get(URL, {"since": since}).json()["changes"]
    assert [(e["item"], e["stakeholder"], e["data"]["role"]) for e in changes["claims"]] == [
        ("time-namespace", "ibm", "lead")
    ]
    assert [(e["item"], e["actor"]) for e in changes["releases"]] == [
        ("user-namespace", "olga-openvz")
    ]
    assert [(e["data"]["old_role"], e["data"]["role"]) for e in changes["role_changes"]] == [
        ("lead", "reviewer")
    ]
    assert changes["status_changes"] == [] and changes["proposals"] == []
    assert [(e["probe"], e["kernel"]) for e in changes["newly_passing"]] == [(UTS, "6.1.0")]
    assert [(e["probe"], e["kernel"]) for e in changes["newly_regressed"]] == [(PID, "6.18.0")]

    # A date before everything: every claim is new, every passing pair newly passing.
    everything = api.get(URL, {"since": "2000-01-01"}).json()
    assert everything["since"] == "2000-01-01T00:00:00Z"
    assert len(everything["changes"]["claims"]) == 5
    assert (PID, "5.10.0") in [
        (e["probe"], e["kernel"]) for e in everything["changes"]["newly_passing"]
    ]


@pytest.mark.parametrize(
    "bad", ["yesterday", "2024-02-30", "2024-13-01T00:00", "1", "9999-12-31T23:00:00-12:00"]
)
def test_it_refuses_a_bad_since_in_the_error_format(api, seeded, bad):
    answer = api.get(URL, {"since": bad})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"
    assert "since" in answer.json()["error"]["fields"]
    markdown = api.get(URL, {"since": bad, "format": "md"})
    assert markdown.status_code == 400 and markdown["Content-Type"] == "application/json"


def test_it_refuses_an_unknown_format(api, seeded):
    answer = api.get(URL, {"format": "xml"})
    assert answer.status_code == 400
    assert "format" in answer.json()["error"]["fields"]


def test_it_renders_markdown_with_areas_items_owners_and_evidence(api, claims, results):
    answer = api.get(URL, {"format": "md", "since": "2000-01-01"})
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/markdown; charset=utf-8"
    text = answer.content.decode()
    assert text.startswith("# Containers roadmap: summit report\n")
    for heading in ("## Summary", "## Changes", "### New claims", "## Regressions"):
        assert f"\n{heading}\n" in text
    assert "\n## Unclaimed items\n" in text
    assert "\n## completion of ongoing namespaces\n\nTheme: namespaces\n" in text
    assert "\n### pid namespace\n" in text
    assert "\n#### per-container swapfile?\n" in text  # a sub-item, one level down
    assert "- **IBM** — lead: Suka's patches\n" in text
    assert "- **OpenVZ** — contributor\n" in text
    assert "Evidence: passes on 1 of 3 kernels, since 5.10.0; regressed on 6.18.0" in text
    assert "| 5.10.0 | pass | 2 | pass 3 |" in text
    assert "| `ns.pid.isolation` | pid-namespace | 6.18.0 | fail | 1 |" in text
    assert "- `net-namespace`\n" in text
    assert "- _unclaimed_" in text
    assert "alice-ibm claimed `pid-namespace` for ibm (role=lead)" in text


def test_it_answers_304_while_the_content_is_unchanged(api, claims):
    first = api.get(URL)
    etag = first["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = api.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and again.content == b""
    markdown = api.get(URL, {"format": "md"})
    assert markdown["ETag"] != etag  # one ETag per representation
    assert api.get(URL, {"format": "md"}, HTTP_IF_NONE_MATCH=etag).status_code == 200
    md_again = api.get(URL, {"format": "md"}, HTTP_IF_NONE_MATCH=markdown["ETag"])
    assert md_again.status_code == 304


def test_it_changes_the_etag_when_a_claim_is_added(api, claims, ibm_member):
    etag = api.get(URL)["ETag"]
    claim_create(ibm_member, item("time-namespace"), stakeholder("ibm"), "lead")
    answer = api.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert answer.status_code == 200 and answer["ETag"] != etag


def test_it_is_closed_to_anonymous_readers_when_the_setting_says_so(api, claims, settings):
    assert api.get(URL).status_code == 200
    settings.API_ANONYMOUS_READ = False
    answer = api.get(URL)
    assert answer.status_code in (401, 403) and "error" in answer.json()


def _grow(size: int, ibm_member, openvz_member) -> None:  # noqa: ANN001 - users
    """``size`` kernels of results on two hosts and ``size`` claims."""
    probes = [PID, PID_INIT, NET, UTS, "ns.ipc.isolation", "keys.basic"]
    for n in range(size):
        observe(
            f"h{n % 2}",
            f"6.{n}.0",
            {p: ("pass" if (n + i) % 3 else "fail") for i, p in enumerate(probes)},
        )
    slugs = list(RoadmapItem.objects.order_by("pk").values_list("slug", flat=True))[:size]
    for n, slug in enumerate(slugs):
        user, who = (ibm_member, "ibm") if n % 2 else (openvz_member, "openvz")
        claim_create(user, item(slug), stakeholder(who), "contributor")


@pytest.mark.parametrize("size", [1, 8])
def test_it_reads_the_report_in_a_fixed_number_of_queries(
    api, catalogue, ibm_member, openvz_member, django_assert_num_queries, size
):
    _grow(size, ibm_member, openvz_member)
    with django_assert_num_queries(6):  # areas, items, claims; kernels, probes, latest
        summit_report()
    with django_assert_num_queries(9):  # and events, recent results, earlier passes
        summit_report(timezone.now() - timedelta(days=1))
