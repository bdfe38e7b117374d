"""What the probe endpoints send and accept. A host's secret is never serialized.

The matrix, regression and comparison shapes are built from ``probes.selectors`` results."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from probes.engine.results import Status
from probes.models import Host, Kernel, Probe, ProbeResult, ProbeRun, version_key
from probes.selectors import PARTIAL, Comparison, Matrix
from roadmap.models import Area, RoadmapItem


class ProbeSerializer(serializers.ModelSerializer):
    area = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    item = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    area_url = serializers.HyperlinkedRelatedField(
        source="area", view_name="api:area-detail", lookup_field="slug", read_only=True
    )
    item_url = serializers.HyperlinkedRelatedField(
        source="item",
        view_name="api:item-detail",
        lookup_field="slug",
        read_only=True,
        allow_null=True,
    )

    class Meta:
        model = Probe
        fields = [
            "id",
            "title",
            "area",
            "area_url",
            "item",
            "item_url",
            "since",
            "config",
            "needs_root",
            "intrusive",
            "timeout",
            "position",
            "in_catalogue",
        ]


class HostSerializer(serializers.ModelSerializer):
    kernel = serializers.SlugRelatedField(slug_field="release", read_only=True, allow_null=True)

    class Meta:
        model = Host
        # Never "secret"; "facts" stay on the pages for signed-in people.
        fields = ["name", "state", "kernel", "last_seen_at", "allow_intrusive", "created_at"]


class KernelSerializer(serializers.ModelSerializer):
    version = serializers.CharField(read_only=True, help_text="Parsed, e.g. 6.18.44.")

    class Meta:
        model = Kernel
        fields = ["release", "version", "config", "first_seen_at"]


class RunSerializer(serializers.ModelSerializer):
    host = serializers.SlugRelatedField(slug_field="name", read_only=True)
    kernel = serializers.SlugRelatedField(slug_field="release", read_only=True, allow_null=True)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    progress = serializers.IntegerField(read_only=True, help_text="Percent of results received.")
    counts = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    probe_ids = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ProbeRun
        fields = [
            "id",
            "host",
            "kernel",
            "trigger",
            "requested_by",
            "state",
            "probe_ids",
            "intrusive",
            "expected",
            "received",
            "progress",
            "counts",
            "note",
            "created_at",
            "started_at",
            "finished_at",
            "deadline_at",
        ]


class RunCreateSerializer(serializers.Serializer):
    """Input only; which probes exist and may run is decided by ``run_dispatch``."""

    host = serializers.SlugRelatedField(slug_field="name", queryset=Host.objects.all())
    only = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        default=list,
        max_length=200,
        help_text="Probe ids or globs (e.g. ns.*); empty means the whole catalogue.",
    )
    intrusive = serializers.BooleanField(required=False, default=False)


class ResultSerializer(serializers.ModelSerializer):
    run = serializers.PrimaryKeyRelatedField(read_only=True)
    probe = serializers.PrimaryKeyRelatedField(read_only=True)
    host = serializers.SlugRelatedField(slug_field="name", read_only=True)
    kernel = serializers.SlugRelatedField(slug_field="release", read_only=True)

    class Meta:
        model = ProbeResult
        fields = [
            "id",
            "run",
            "probe",
            "host",
            "kernel",
            "status",
            "detail",
            "evidence",
            "config",
            "duration_ms",
            "observed_at",
        ]


class ImportEnvelopeSerializer(serializers.Serializer):
    """Documentation of the body only: ``results_import`` checks the envelope itself."""

    host = serializers.CharField(help_text="The enrolled host's name (the key id).")
    kind = serializers.CharField(help_text='Always "import".')
    ts = serializers.IntegerField(help_text="Unix seconds when it was signed.")
    msg_id = serializers.CharField(help_text="32 hex digits.")
    body = serializers.DictField(help_text="The `engine run --json` document.")
    sig = serializers.CharField(help_text="HMAC-SHA256 over the canonical JSON, in hex.")


# --- The matrix, its regressions and kernel comparisons (probes.selectors) ---------------------

# A bound is a release as `uname -r` prints it, or a prefix such as "6.1": MAJOR.MINOR first.
KERNEL_BOUND = r"^\d+\.\d+"
MATRIX_STATUSES = [*(s.value for s in Status), PARTIAL]


class MatrixQuerySerializer(serializers.Serializer):
    """The matrix's query string. Slugs and host names must exist; bounds must parse."""

    area = serializers.SlugField(required=False, max_length=50, help_text="Area slug.")
    item = serializers.SlugField(required=False, max_length=50, help_text="Roadmap item slug.")
    status = serializers.ChoiceField(
        choices=MATRIX_STATUSES,
        required=False,
        help_text="Keep probes with at least one cell of this status (or partial).",
    )
    host = serializers.CharField(
        required=False, max_length=63, help_text="Count only this host's results."
    )
    kernel_min = serializers.RegexField(
        KERNEL_BOUND,
        required=False,
        max_length=128,
        help_text='Oldest kernel shown, by version (e.g. "5.10" or "6.1.0-13-amd64").',
    )
    kernel_max = serializers.RegexField(
        KERNEL_BOUND, required=False, max_length=128, help_text="Newest kernel shown, by version."
    )

    def validate_area(self, value: str) -> str:
        if not Area.objects.filter(slug=value).exists():
            raise serializers.ValidationError(f"No area {value!r}.")
        return value

    def validate_item(self, value: str) -> str:
        if not RoadmapItem.objects.filter(slug=value).exists():
            raise serializers.ValidationError(f"No roadmap item {value!r}.")
        return value

    def validate_host(self, value: str) -> str:
        if not Host.objects.filter(name=value).exists():
            raise serializers.ValidationError(f"No host {value!r}.")
        return value

    def validate(self, attrs: dict) -> dict:
        low, high = attrs.get("kernel_min"), attrs.get("kernel_max")
        if low and high and version_key(low) > version_key(high):
            raise serializers.ValidationError({"kernel_min": ["Newer than kernel_max."]})
        return attrs

    def selector_kwargs(self) -> dict[str, str | None]:
        """The validated query as ``feature_matrix`` keywords."""
        data = self.validated_data
        return {
            "area": data.get("area"),
            "item": data.get("item"),
            "status": data.get("status"),
            "host": data.get("host"),
            "min_version": data.get("kernel_min"),
            "max_version": data.get("kernel_max"),
        }


class RegressionQuerySerializer(MatrixQuerySerializer):
    status = serializers.ChoiceField(
        choices=MATRIX_STATUSES,
        required=False,
        help_text="Keep regressed cells of this status (e.g. unsupported: a feature gone).",
    )


class CompareQuerySerializer(serializers.Serializer):
    old = serializers.CharField(max_length=128, help_text="Kernel release, as `uname -r`.")
    new = serializers.CharField(max_length=128, help_text="Kernel release, as `uname -r`.")


# The response serializers below document the shapes; the views build the same dicts directly
# (a 200-kernel x 80-probe matrix is 16,000 cells: too many for DRF's per-field machinery).


class MatrixKernelSerializer(serializers.Serializer):
    release = serializers.CharField(help_text="As `uname -r` prints it.")
    version = serializers.CharField(help_text="Parsed, e.g. 6.18.44.")


class CellSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="A result status, or partial when hosts disagree.")
    split = serializers.DictField(
        child=serializers.IntegerField(), help_text="Status -> number of hosts."
    )
    hosts = serializers.IntegerField(help_text="Hosts with a result on this kernel.")
    regressed = serializers.BooleanField(
        help_text="Passed before on a host of this kernel, or on an older kernel, and not now."
    )


class MatrixRowSerializer(serializers.Serializer):
    probe = serializers.CharField(help_text="Probe id.")
    title = serializers.CharField()
    area = serializers.CharField(help_text="Area slug.")
    item = serializers.CharField(allow_null=True, help_text="Roadmap item slug.")
    since = serializers.CharField(allow_null=True, help_text="First kernel that passes.")
    regressed_on = serializers.ListField(child=serializers.CharField())
    cells = serializers.DictField(
        child=CellSerializer(), help_text="Kernel release -> cell; kernels without results absent."
    )


class MatrixSerializer(serializers.Serializer):
    kernels = MatrixKernelSerializer(many=True, help_text="Columns, oldest version first.")
    rows = MatrixRowSerializer(many=True, help_text="Probes, in catalogue order.")


class RegressionSerializer(serializers.Serializer):
    probe = serializers.CharField(help_text="Probe id.")
    title = serializers.CharField()
    area = serializers.CharField(help_text="Area slug.")
    item = serializers.CharField(allow_null=True, help_text="Roadmap item slug.")
    kernel = serializers.CharField(help_text="The kernel release where it regressed.")
    status = serializers.CharField(help_text="The cell's status there (or partial).")
    split = serializers.DictField(child=serializers.IntegerField())
    hosts = serializers.IntegerField()
    last_passed = serializers.CharField(
        allow_null=True,
        help_text="The newest older kernel where it passed on some host; null when it "
        "regressed on this kernel only (a host where it passed before fails now).",
    )


class RegressionListSerializer(serializers.Serializer):
    regressions = RegressionSerializer(many=True, help_text="By probe, then kernel version.")


class ProbeRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()


class ComparisonSerializer(serializers.Serializer):
    old = MatrixKernelSerializer()
    new = MatrixKernelSerializer()
    regressed = ProbeRefSerializer(many=True, help_text="Passed on old, not on new.")
    fixed = ProbeRefSerializer(many=True, help_text="Did not pass on old, passes on new.")
    new_probes = ProbeRefSerializer(many=True, help_text="Seen on new only.")
    still_failing = ProbeRefSerializer(many=True, help_text="Fail on both.")


def kernel_json(kernel: Kernel) -> dict[str, str]:
    return {"release": kernel.release, "version": kernel.version}


def matrix_json(matrix: Matrix) -> dict[str, Any]:
    """A ``feature_matrix`` in the shape of ``MatrixSerializer``."""
    releases = {k.pk: k.release for k in matrix.kernels}
    return {
        "kernels": [kernel_json(k) for k in matrix.kernels],
        "rows": [
            {
                "probe": row.probe.pk,
                "title": row.probe.title,
                "area": row.probe.area.slug,
                "item": row.probe.item.slug if row.probe.item else None,
                "since": row.since.release if row.since else None,
                "regressed_on": [k.release for k in row.regressed_on],
                "cells": {releases[pk]: cell.to_json() for pk, cell in row.cells.items()},
            }
            for row in matrix.rows
        ],
    }


def regressions_json(matrix: Matrix, status: str | None = None) -> dict[str, Any]:
    """Every regressed cell of ``matrix`` (optionally of one ``status``), in the shape of
    ``RegressionListSerializer``; ``last_passed`` is read off the row's older cells."""
    found = []
    for row in matrix.rows:
        last_passed: Kernel | None = None
        for kernel in matrix.kernels:  # oldest first
            cell = matrix.cell(row, kernel)
            if cell is None:
                continue
            if cell.regressed and (status is None or cell.status == status):
                found.append(
                    {
                        "probe": row.probe.pk,
                        "title": row.probe.title,
                        "area": row.probe.area.slug,
                        "item": row.probe.item.slug if row.probe.item else None,
                        "kernel": kernel.release,
                        "status": cell.status,
                        "split": cell.split,
                        "hosts": cell.hosts,
                        "last_passed": last_passed.release if last_passed else None,
                    }
                )
            if Status.PASS.value in cell.split:
                last_passed = kernel
    return {"regressions": found}


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    def refs(probes: list[Probe]) -> list[dict[str, str]]:
        return [{"id": p.pk, "title": p.title} for p in probes]

    return {
        "old": kernel_json(comparison.old),
        "new": kernel_json(comparison.new),
        "regressed": refs(comparison.regressed),
        "fixed": refs(comparison.fixed),
        "new_probes": refs(comparison.new_probes),
        "still_failing": refs(comparison.still_failing),
    }
