"""The matrix page, a cell's detail and the kernel comparison page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .factories import observe

UTS, IPC = "ns.uts.isolation", "ns.ipc.isolation"


@pytest.fixture
def history(seeded):
    from probes.services.catalogue import catalogue_sync

    catalogue_sync()
    observe("a", "5.10.0", {UTS: "pass", IPC: "fail"})
    observe("a", "6.18.0", {UTS: "fail", IPC: "pass"})
    observe("b", "6.18.0", {UTS: "pass", IPC: "pass"})


def test_it_shows_cells_partial_splits_and_regressions(client, history):
    body = client.get(reverse("matrix")).content.decode()
    assert body.index(">5.10.0<") < body.index(">6.18.0<")
    assert (
        "partial (1 fail, 1 pass) ⚠ regressed" in body
        or "partial (1 pass, 1 fail) ⚠ regressed" in body
    )
    assert reverse("matrix_cell", args=[UTS, "6.18.0"]) in body


def test_it_filters_by_status_and_reports_bad_filters(client, history):
    body = client.get(reverse("matrix"), {"status": "partial"}).content.decode()
    assert UTS in body and IPC not in body.split("<tbody>")[1]
    assert client.get(reverse("matrix"), {"status": "great"}).status_code == 400


def test_it_opens_a_cells_detail_with_each_hosts_result_and_history(client, history):
    body = client.get(reverse("matrix_cell", args=[UTS, "6.18.0"])).content.decode()
    assert "<h3>a: fail" in body and "<h3>b: pass" in body
    assert client.get(reverse("matrix_cell", args=[UTS, "9.9.9"])).status_code == 404


def test_it_compares_two_kernels(client, history):
    body = client.get(
        reverse("kernels_compare"), {"old": "5.10.0", "new": "6.18.0"}
    ).content.decode()
    fixed = body.split("<h2>Fixed")[1].split("<h2>")[0]
    assert IPC in fixed
    assert client.get(reverse("kernels_compare")).status_code == 200


@pytest.mark.parametrize("extra", [0, 5])
def test_it_renders_the_matrix_in_a_fixed_number_of_queries(
    client, history, extra, django_assert_num_queries
):
    for n in range(extra):
        observe("c", f"4.{n}.0", {UTS: "pass", IPC: "pass"})
    with django_assert_num_queries(4):  # session-less: areas for the filter, kernels, probes, cells
        assert client.get(reverse("matrix")).status_code == 200


def test_it_escapes_kernel_releases_that_agents_report(client, seeded):
    from probes.services.catalogue import catalogue_sync

    catalogue_sync()
    observe("a", '6.1"><script>alert(1)</script>', {UTS: "pass"})
    body = client.get(reverse("matrix")).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body or "%3Cscript%3E" in body
