"""Hosts, kernels, the probe catalogue, runs and results."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from probes.engine.results import Status
from roadmap.models import Area, RoadmapItem

STATUS_CHOICES = [(s.value, s.label) for s in Status]


class HostState(models.TextChoices):
    PENDING = "pending", "Pending (enrolled, never heard from)"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


def new_host_secret() -> str:
    return secrets.token_urlsafe(32)


class Host(models.Model):
    name = models.CharField(max_length=63, unique=True)
    state = models.CharField(max_length=16, choices=HostState.choices, default=HostState.PENDING)
    secret = models.CharField(max_length=64, default=new_host_secret, editable=False)
    allow_intrusive = models.BooleanField(
        default=False, help_text="Intrusive probes (swap, huge pages, OOM, CPU burn) may run here."
    )
    last_seen_at = models.DateTimeField(null=True, blank=True)
    facts = models.JSONField(default=dict, blank=True)
    kernel = models.ForeignKey(
        "Kernel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The kernel it last reported.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def online(self) -> bool:
        """Heard from within HOST_SILENT_SECONDS (the reaper's rule for a gone host)."""
        silent = timedelta(seconds=settings.HOST_SILENT_SECONDS)
        return self.last_seen_at is not None and timezone.now() - self.last_seen_at < silent


_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


def version_key(release: str) -> str:
    """A sortable key for a kernel release: "6.18.44-fc" -> "00006.00018.00044"."""
    match = _VERSION.match(release)
    parts = [int(p or 0) for p in match.groups()] if match else [0, 0, 0]
    return ".".join(f"{p:05d}" for p in parts)


class Kernel(models.Model):
    release = models.CharField(max_length=128, unique=True, help_text="As `uname -r` prints it.")
    version_key = models.CharField(max_length=32, db_index=True, editable=False)
    config = models.JSONField(default=dict, blank=True, help_text="CONFIG_ options when known.")
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version_key", "release"]

    def __str__(self) -> str:
        return self.release

    def save(self, *args, **kwargs):  # noqa: ANN002,ANN003
        self.version_key = version_key(self.release)
        super().save(*args, **kwargs)

    @property
    def version(self) -> str:
        return ".".join(str(int(p)) for p in self.version_key.split("."))


class Probe(models.Model):
    """A row per catalogue probe, synced from ``probes.engine.catalogue``."""

    id = models.CharField(primary_key=True, max_length=80)
    title = models.CharField(max_length=200)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="probes")
    item = models.ForeignKey(
        RoadmapItem, null=True, blank=True, on_delete=models.PROTECT, related_name="probes"
    )
    since = models.CharField(max_length=16, help_text="First mainline kernel.")
    config = models.JSONField(default=list, blank=True)
    needs_root = models.BooleanField(default=True)
    intrusive = models.BooleanField(default=False)
    timeout = models.FloatField(default=10.0)
    position = models.PositiveIntegerField(default=0, help_text="Catalogue order.")
    in_catalogue = models.BooleanField(default=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.id


class RunTrigger(models.TextChoices):
    MANUAL = "manual", "Manual"
    SCHEDULE = "schedule", "Schedule"
    API = "api", "API"
    IMPORT = "import", "Offline import"


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    LOST = "lost", "Lost"
    CANCELLED = "cancelled", "Cancelled"


OPEN_RUN_STATES = (RunState.QUEUED, RunState.RUNNING)
FINAL_RUN_STATES = (RunState.DONE, RunState.LOST, RunState.CANCELLED)


class ProbeRun(models.Model):
    host = models.ForeignKey(Host, on_delete=models.PROTECT, related_name="runs")
    kernel = models.ForeignKey(
        Kernel, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.QUEUED)
    probe_ids = models.JSONField(default=list, help_text="The probes asked for, in order.")
    intrusive = models.BooleanField(default=False)
    expected = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Results per status.")
    note = models.CharField(max_length=300, blank=True)
    import_digest = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True, help_text="Lost if silent past it.")
    silence_seconds = models.FloatField(
        default=120, help_text="How long the run may go without news; each result extends it."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "deadline_at"])]

    def __str__(self) -> str:
        return f"run {self.pk} on {self.host_id}"

    @property
    def progress(self) -> int:
        return 100 if not self.expected else round(100 * self.received / self.expected)


class ProbeResult(models.Model):
    run = models.ForeignKey(ProbeRun, on_delete=models.CASCADE, related_name="results")
    probe = models.ForeignKey(Probe, on_delete=models.PROTECT, related_name="results")
    host = models.ForeignKey(Host, on_delete=models.PROTECT, related_name="+")
    kernel = models.ForeignKey(Kernel, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=STATUS_CHOICES)
    detail = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True)
    duration_ms = models.FloatField(default=0)
    observed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["run", "probe__position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "probe"], name="one_result_per_run_and_probe")
        ]

    def __str__(self) -> str:
        return f"{self.probe_id} {self.status}"


class LatestResult(models.Model):
    """The newest result per (host, kernel, probe), kept at ingest.

    Matrices read this index and never scan the result history.
    """

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="+")
    kernel = models.ForeignKey(Kernel, on_delete=models.CASCADE, related_name="+")
    probe = models.ForeignKey(Probe, on_delete=models.CASCADE, related_name="+")
    result = models.ForeignKey(ProbeResult, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=STATUS_CHOICES)
    observed_at = models.DateTimeField()
    ever_passed = models.BooleanField(
        default=False, help_text="Passed at some time on this host and kernel (for regressions)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["host", "kernel", "probe"], name="one_latest_per_host_kernel_probe"
            )
        ]
        indexes = [models.Index(fields=["kernel", "probe"])]

    def __str__(self) -> str:
        return f"{self.probe_id} on {self.host_id}/{self.kernel_id}: {self.status}"


class SeenMessage(models.Model):
    """Message ids already ingested: the same envelope twice is processed once."""

    msg_id = models.CharField(max_length=32, primary_key=True)
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.msg_id
