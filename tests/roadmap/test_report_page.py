"""The summit report page (printable) and its Markdown download."""

from __future__ import annotations

import pytest
from django.urls import reverse

from roadmap.models import RoadmapItem, Stakeholder
from roadmap.report import report_markdown, summit_report
from roadmap.services import claims

from ..probes.factories import observe

UTS, IPC = "ns.pid.isolation", "ns.pid.proc_mount"  # both give evidence for pid-namespace


@pytest.fixture
def catalogue(seeded):
    from probes.services.catalogue import catalogue_sync

    catalogue_sync()


@pytest.fixture
def history(catalogue, ibm_member):
    observe("a", "5.10.0", {UTS: "pass", IPC: "pass"})
    observe("a", "6.18.0", {UTS: "pass", IPC: "fail"})
    claims.claim_create(
        ibm_member,
        RoadmapItem.objects.get(slug="pid-namespace"),
        Stakeholder.objects.get(slug="ibm"),
        "lead",
        "kernel side",
    )


def test_it_shows_areas_items_owners_evidence_regressions_and_unclaimed(client, history):
    response = client.get(reverse("report"))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<h2 id="area-ongoing-namespaces">' in body
    assert '<h2 id="area-checkpoint-restart">' in body
    item = body[body.index('id="item-pid-namespace"') :]
    item = item[: item.index("</div>")]
    assert ">IBM</a>: Lead (kernel side)</li>" in item
    assert "Evidence: passes on 1 of 2 kernels, since 5.10.0; regressed on 6.18.0" in item
    assert '<th scope="row">5.10.0</th><td>passes</td>' in item
    assert '<th scope="row">6.18.0</th><td>partial (hosts disagree), regressed</td>' in item
    regressions = body[body.index('id="regressions"') : body.index('id="unclaimed"')]
    assert f"<code>{IPC}</code>" in regressions
    assert "<td>fails, regressed</td>" in regressions
    unclaimed = body[body.index('id="unclaimed"') :]
    assert ">user</a></li>" in unclaimed
    assert ">pid namespace<" not in unclaimed


def test_it_links_a_print_stylesheet_and_absolute_urls(client, history):
    body = client.get(reverse("report")).content.decode()
    assert '<link rel="stylesheet" href="/static/css/print.css" media="print">' in body
    assert 'href="http://testserver/items/pid-namespace/"' in body
    assert f'href="{reverse("report_markdown")}" download>Download Markdown</a>' in body
    assert f'href="{reverse("report")}">Report</a>' in body  # the header's nav link


def test_the_print_stylesheet_hides_navigation_and_forms_and_breaks_pages():
    from pathlib import Path

    from django.conf import settings

    css = (Path(settings.BASE_DIR) / "static/css/print.css").read_text()
    assert "header.site, nav, form" in css
    assert "break-before: page" in css
    assert 'content: " (" attr(href) ")"' in css


def test_it_downloads_the_same_report_as_markdown(client, history):
    response = client.get(reverse("report_markdown"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="summit-report.md"'

    def without_timestamp(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("Schema ")]

    expected = report_markdown(summit_report())
    assert without_timestamp(response.content.decode()) == without_timestamp(expected)
    assert "- **IBM** — lead: kernel side" in expected


@pytest.mark.parametrize("kernels", [1, 10])
def test_it_renders_in_a_fixed_number_of_queries(
    client, catalogue, maintainer, django_assert_num_queries, kernels
):
    items = list(RoadmapItem.objects.all())
    holders = list(Stakeholder.objects.all())
    for n in range(kernels):
        observe(f"h{n % 3}", f"6.{n}.0", {UTS: "pass", IPC: "fail" if n % 2 else "pass"})
        claims.claim_create(maintainer, items[n], holders[n % len(holders)], "interested")
    # session-less: areas, items, claims, kernels, probes, latest results
    with django_assert_num_queries(6):
        assert client.get(reverse("report")).status_code == 200
    with django_assert_num_queries(6):
        assert client.get(reverse("report_markdown")).status_code == 200
