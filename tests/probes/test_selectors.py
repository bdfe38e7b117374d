"""The feature matrix: cells per kernel, partial support, since, regressions, evidence."""

from __future__ import annotations

import pytest

from probes import selectors
from probes.models import Kernel

from .factories import observe

UTS, IPC, PID = "ns.uts.isolation", "ns.ipc.isolation", "ns.pid.isolation"


@pytest.fixture
def catalogue(seeded):
    from probes.services.catalogue import catalogue_sync

    catalogue_sync()


def row_of(matrix, probe_id):
    return next(r for r in matrix.rows if r.probe.pk == probe_id)


def cell(matrix, probe_id, release):
    kernel = Kernel.objects.get(release=release)
    return row_of(matrix, probe_id).cells.get(kernel.pk)


def test_it_orders_kernels_by_version_not_by_text(catalogue):
    for release in ("6.1.0", "5.10.0", "5.4.0-generic", "6.18.44-fc"):
        observe("a", release, {UTS: "pass"})
    matrix = selectors.feature_matrix()
    assert [k.release for k in matrix.kernels] == ["5.4.0-generic", "5.10.0", "6.1.0", "6.18.44-fc"]


def test_it_gives_the_first_passing_kernel_as_since(catalogue):
    observe("a", "5.4.0", {UTS: "unsupported"})
    observe("a", "5.10.0", {UTS: "pass"})
    observe("a", "6.1.0", {UTS: "pass"})
    row = row_of(selectors.feature_matrix(), UTS)
    assert row.since.release == "5.10.0"
    assert row.regressed_on == []


def test_it_marks_hosts_that_disagree_on_one_kernel_as_partial(catalogue):
    observe("a", "6.1.0", {UTS: "pass"})
    observe("b", "6.1.0", {UTS: "fail"})
    observe("c", "6.1.0", {UTS: "pass"})
    got = cell(selectors.feature_matrix(), UTS, "6.1.0")
    assert (got.status, got.split, got.hosts) == ("partial", {"pass": 2, "fail": 1}, 3)
    only_b = cell(selectors.feature_matrix(host="b"), UTS, "6.1.0")
    assert (only_b.status, only_b.hosts) == ("fail", 1)


def test_it_marks_a_newer_kernel_that_fails_what_an_older_one_passed(catalogue):
    observe("a", "5.10.0", {UTS: "pass", IPC: "fail"})
    observe("a", "6.18.0", {UTS: "fail", IPC: "fail"})
    matrix = selectors.feature_matrix()
    assert [k.release for k in row_of(matrix, UTS).regressed_on] == ["6.18.0"]
    assert row_of(matrix, IPC).regressed_on == []  # never passed: failing, not regressed


def test_it_marks_a_host_and_kernel_that_passed_before_and_fails_now(catalogue):
    observe("a", "6.18.0", {UTS: "pass"})
    observe("a", "6.18.0", {UTS: "fail"})
    got = cell(selectors.feature_matrix(), UTS, "6.18.0")
    assert (got.status, got.regressed) == ("fail", True)


def test_it_filters_by_area_status_and_kernel_range(catalogue):
    observe("a", "5.4.0", {UTS: "pass", PID: "denied"})
    observe("a", "6.1.0", {UTS: "pass", PID: "pass"})
    matrix = selectors.feature_matrix(area="ongoing-namespaces", status="denied")
    assert [r.probe.pk for r in matrix.rows] == [PID]
    ranged = selectors.feature_matrix(min_version="6.0")
    assert [k.release for k in ranged.kernels] == ["6.1.0"]
    assert all(
        r.probe.area.slug == "new-namespaces"
        for r in selectors.feature_matrix(area="new-namespaces").rows
    )


def test_it_summarises_evidence_per_roadmap_item(catalogue):
    observe("a", "5.4.0", {PID: "unsupported"})
    observe("a", "5.10.0", {PID: "pass"})
    observe("a", "6.18.0", {PID: "fail"})
    matrix = selectors.feature_matrix(item="pid-namespace")
    (evidence,) = selectors.evidence_by_item(matrix).values()
    assert evidence.summary == "passes on 1 of 3 kernels, since 5.10.0; regressed on 6.18.0"


def test_it_compares_two_kernels(catalogue):
    observe("a", "6.1.0", {UTS: "pass", IPC: "fail", PID: "fail"})
    observe("a", "6.18.0", {UTS: "fail", IPC: "pass", PID: "fail", "keys.basic": "pass"})
    old, new = Kernel.objects.get(release="6.1.0"), Kernel.objects.get(release="6.18.0")
    comparison = selectors.kernels_compare(old, new)
    ids = lambda probes: [p.pk for p in probes]  # noqa: E731
    assert ids(comparison.regressed) == [UTS]
    assert ids(comparison.fixed) == [IPC]
    assert ids(comparison.still_failing) == [PID]
    assert ids(comparison.new_probes) == ["keys.basic"]


@pytest.mark.parametrize("kernels", [1, 6])
def test_it_reads_the_matrix_in_three_queries_whatever_the_size(
    catalogue, kernels, django_assert_num_queries
):
    for n in range(kernels):
        observe(f"h{n % 2}", f"6.{n}.0", {UTS: "pass", IPC: "fail", PID: "pass"})
    with django_assert_num_queries(3):
        matrix = selectors.feature_matrix()
        selectors.evidence_by_item(matrix)
    assert len(matrix.kernels) == kernels
