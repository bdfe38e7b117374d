"""What the probe endpoints send and accept. A host's secret is never serialized."""

from __future__ import annotations

from rest_framework import serializers

from probes.models import Host, Kernel, Probe, ProbeResult, ProbeRun


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
