"""Django admin for hosts, kernels, the catalogue, runs and results.

Results are written only by ingest, so their admin is read-only. A host's
secret is shown once, in the message after it is added, and never again.
"""

from django.contrib import admin, messages

from .models import Host, Kernel, LatestResult, Probe, ProbeResult, ProbeRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ("name", "state", "kernel", "last_seen_at", "allow_intrusive")
    list_filter = ("state", "allow_intrusive")
    readonly_fields = ("last_seen_at", "kernel", "facts", "created_at")
    fields = ("name", "state", "allow_intrusive", *readonly_fields)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(
                request, f"Secret for {obj.name} (shown once, copy it now): {obj.secret}"
            )


@admin.register(Kernel)
class KernelAdmin(ReadOnlyAdmin):
    list_display = ("release", "version_key", "first_seen_at")


@admin.register(Probe)
class ProbeAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "area", "item", "since", "intrusive", "in_catalogue")
    list_filter = ("area", "intrusive", "in_catalogue")


@admin.register(ProbeRun)
class ProbeRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "host",
        "kernel",
        "trigger",
        "state",
        "received",
        "expected",
        "created_at",
    )
    list_filter = ("state", "trigger", "host")
    list_select_related = ("host", "kernel")


@admin.register(ProbeResult)
class ProbeResultAdmin(ReadOnlyAdmin):
    list_display = ("probe", "status", "host", "kernel", "observed_at")
    list_filter = ("status", "kernel", "host")
    list_select_related = ("probe", "host", "kernel")


@admin.register(LatestResult)
class LatestResultAdmin(ReadOnlyAdmin):
    list_display = ("probe", "host", "kernel", "status", "ever_passed", "observed_at")
    list_filter = ("status", "kernel")
    list_select_related = ("probe", "host", "kernel")
