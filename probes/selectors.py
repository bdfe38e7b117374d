"""The probes app's read side: the feature matrix, regressions and evidence summaries.

Everything here reads the latest-result index (never the result history) in
a fixed number of queries — kernels, probes, latest results — and folds the
rows in Python: a 200-kernel x 80-probe matrix is 16,000 small tuples.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from probes.engine.results import Status

from .models import Kernel, LatestResult, Probe, ProbeResult

PARTIAL = "partial"  # hosts on one kernel disagree (as caniuse marks partial support)
# A newer kernel regresses when a feature that passed on an older one fails there.
REGRESSED_STATUSES = frozenset({Status.FAIL.value, Status.UNSUPPORTED.value})


@dataclass
class Cell:
    """One probe on one kernel, over every host that ran it there."""

    status: str  # a Status value, or PARTIAL
    split: dict[str, int]  # status -> number of hosts
    hosts: int
    regressed: bool = False  # passed here before on some host, or on an older kernel

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "split": self.split,
            "hosts": self.hosts,
            "regressed": self.regressed,
        }


@dataclass
class Row:
    probe: Probe
    cells: dict[int, Cell]  # kernel id -> cell
    since: Kernel | None  # first kernel (by version) whose cell passes
    regressed_on: list[Kernel] = field(default_factory=list)


@dataclass
class Matrix:
    kernels: list[Kernel]
    rows: list[Row]

    def cell(self, row: Row, kernel: Kernel) -> Cell | None:
        return row.cells.get(kernel.pk)


def kernels_ordered(
    *, min_version: str | None = None, max_version: str | None = None
) -> QuerySet[Kernel]:
    """Kernels by version; bounds are release strings ("5.6", "6.18.44-fc")."""
    from .models import version_key

    kernels = Kernel.objects.order_by("version_key", "release")
    if min_version:
        kernels = kernels.filter(version_key__gte=version_key(min_version))
    if max_version:
        kernels = kernels.filter(version_key__lte=version_key(max_version))
    return kernels


def feature_matrix(
    *,
    area: str | None = None,
    item: str | None = None,
    status: str | None = None,
    host: str | None = None,
    min_version: str | None = None,
    max_version: str | None = None,
    probe_ids: list[str] | None = None,
) -> Matrix:
    """Probes (rows, catalogue order) x kernels seen (columns, by version). Three queries.

    ``status`` keeps the rows with at least one cell of that status (or PARTIAL);
    ``host`` counts only that host's results.
    """
    kernels = list(kernels_ordered(min_version=min_version, max_version=max_version))
    probes = Probe.objects.filter(in_catalogue=True).select_related("area", "item")
    if area:
        probes = probes.filter(area__slug=area)
    if item:
        probes = probes.filter(item__slug=item)
    if probe_ids is not None:
        probes = probes.filter(pk__in=probe_ids)
    probes = list(probes.order_by("position"))
    latest = LatestResult.objects.filter(
        kernel_id__in=[k.pk for k in kernels], probe_id__in=[p.pk for p in probes]
    )
    if host:
        latest = latest.filter(host__name=host)
    # Folded in the database: one row per (probe, kernel, status) with its host count
    # and how many of those hosts passed there before (a same-host regression).
    groups = (
        latest.values("probe_id", "kernel_id", "status")
        .annotate(hosts=Count("id"), passed_before=Count("id", filter=Q(ever_passed=True)))
        .values_list("probe_id", "kernel_id", "status", "hosts", "passed_before")
        .order_by()
    )
    split_of: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    same_host_regressed: set[tuple[str, int]] = set()
    for probe_id, kernel_id, state, hosts, passed_there in groups:
        split_of[probe_id, kernel_id][state] = hosts
        if passed_there and state != Status.PASS:
            same_host_regressed.add((probe_id, kernel_id))

    columns = [(kernel, kernel.pk) for kernel in kernels]  # oldest first
    rows = []
    for probe in probes:
        row = Row(probe=probe, cells={}, since=None)
        probe_id, passed_before = probe.pk, False
        for kernel, kernel_id in columns:
            split = split_of.get((probe_id, kernel_id))
            if not split:
                continue
            cell = Cell(
                status=next(iter(split)) if len(split) == 1 else PARTIAL,
                split=split,
                hosts=sum(split.values()),
            )
            newer_kernel_regression = passed_before and not REGRESSED_STATUSES.isdisjoint(split)
            cell.regressed = (probe_id, kernel_id) in same_host_regressed or newer_kernel_regression
            if cell.regressed:
                row.regressed_on.append(kernel)
            if Status.PASS.value in split:
                passed_before = True
                row.since = row.since or kernel
            row.cells[kernel_id] = cell
        rows.append(row)
    if status:
        rows = [r for r in rows if any(c.status == status for c in r.cells.values())]
    return Matrix(kernels=kernels, rows=rows)


@dataclass
class Evidence:
    """What the kernels say about one roadmap item: "passes on 3 of 4 kernels, since 5.6"."""

    kernels_passing: int
    kernels_seen: int
    since: str | None
    regressed_on: list[str]

    @property
    def summary(self) -> str:
        if not self.kernels_seen:
            return "no evidence yet"
        text = f"passes on {self.kernels_passing} of {self.kernels_seen} kernels"
        if self.since:
            text += f", since {self.since}"
        if self.regressed_on:
            text += f"; regressed on {', '.join(self.regressed_on)}"
        return text


def evidence_by_item(matrix: Matrix) -> dict[int, Evidence]:
    """Per roadmap item: a kernel passes when every probe of the item seen there passes."""
    by_item: dict[int, list[Row]] = defaultdict(list)
    for row in matrix.rows:
        if row.probe.item_id is not None:
            by_item[row.probe.item_id].append(row)
    evidence = {}
    for item_id, rows in by_item.items():
        seen = passing = 0
        since = None
        regressed: list[str] = []
        for kernel in matrix.kernels:
            cells = [r.cells[kernel.pk] for r in rows if kernel.pk in r.cells]
            if not cells:
                continue
            seen += 1
            if all(c.status == Status.PASS for c in cells):
                passing += 1
                since = since or kernel.release
            if any(c.regressed for c in cells):
                regressed.append(kernel.release)
        evidence[item_id] = Evidence(passing, seen, since, regressed)
    return evidence


@dataclass
class Comparison:
    """Two kernels side by side: what changed between ``old`` and ``new``."""

    old: Kernel
    new: Kernel
    regressed: list[Probe]  # passed on old, not on new
    fixed: list[Probe]  # not passing on old, passes on new
    new_probes: list[Probe]  # seen on new only
    still_failing: list[Probe]  # fail on both


def kernels_compare(old: Kernel, new: Kernel) -> Comparison:
    matrix = feature_matrix()
    result = Comparison(old, new, [], [], [], [])
    for row in matrix.rows:
        a, b = row.cells.get(old.pk), row.cells.get(new.pk)
        if b is None:
            continue
        if a is None:
            result.new_probes.append(row.probe)
        elif a.status == Status.PASS and b.status != Status.PASS:
            result.regressed.append(row.probe)
        elif a.status != Status.PASS and b.status == Status.PASS:
            result.fixed.append(row.probe)
        elif a.status == Status.FAIL and b.status == Status.FAIL:
            result.still_failing.append(row.probe)
    return result


@dataclass
class CellDetail:
    probe: Probe
    kernel: Kernel
    latest: list[LatestResult]  # one per host, with its result
    history: list[ProbeResult]  # newest first


def cell_detail(probe_id: str, release: str, history: int = 50) -> CellDetail:
    """What stands behind one matrix cell: each host's latest result and the history."""
    probe = get_object_or_404(Probe.objects.select_related("area", "item"), pk=probe_id)
    kernel = get_object_or_404(Kernel, release=release)
    latest = list(
        LatestResult.objects.filter(probe=probe, kernel=kernel)
        .select_related("host", "result", "result__run")
        .order_by("host__name")
    )
    past = list(
        ProbeResult.objects.filter(probe=probe, kernel=kernel)
        .select_related("host", "run")
        .order_by("-observed_at", "-id")[:history]
    )
    return CellDetail(probe, kernel, latest, past)
