"""Query-string filters for runs and results (django-filter)."""

from __future__ import annotations

import django_filters

from probes.models import STATUS_CHOICES, ProbeResult, ProbeRun, RunState, RunTrigger


class RunFilter(django_filters.FilterSet):
    host = django_filters.CharFilter(field_name="host__name", help_text="Host name.")
    state = django_filters.ChoiceFilter(choices=RunState.choices)
    trigger = django_filters.ChoiceFilter(choices=RunTrigger.choices)

    class Meta:
        model = ProbeRun
        fields = ["host", "state", "trigger"]


class ResultFilter(django_filters.FilterSet):
    probe = django_filters.CharFilter(field_name="probe_id", help_text="Probe id.")
    kernel = django_filters.CharFilter(field_name="kernel__release", help_text="Kernel release.")
    host = django_filters.CharFilter(field_name="host__name", help_text="Host name.")
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES)
    run = django_filters.NumberFilter(field_name="run_id")
    observed_after = django_filters.IsoDateTimeFilter(
        field_name="observed_at", lookup_expr="gte", help_text="ISO 8601, inclusive."
    )
    observed_before = django_filters.IsoDateTimeFilter(
        field_name="observed_at", lookup_expr="lt", help_text="ISO 8601, exclusive."
    )

    class Meta:
        model = ProbeResult
        fields = ["probe", "kernel", "host", "status", "run", "observed_after", "observed_before"]
