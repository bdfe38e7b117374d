"""Query-string filters for runs and results (django-filter)."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from probes.models import STATUS_CHOICES, ProbeResult, ProbeRun, RunState, RunTrigger


class IdFilter(django_filters.Filter):
    """A database id: a whole number in BIGINT range (anything else is a 400, never a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002,ANN003
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601, converted to UTC here: a time whose UTC value falls outside the years
    the database holds is a field error, not a 500."""

    def to_python(self, value: object) -> datetime | None:
        try:
            parsed = super().to_python(value)
            return parsed.astimezone(UTC) if parsed else parsed
        except OverflowError:
            raise ValidationError("This time is out of range.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


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
    run = IdFilter(field_name="run_id", help_text="Run id.")
    observed_after = UtcDateTimeFilter(
        field_name="observed_at", lookup_expr="gte", help_text="ISO 8601, inclusive."
    )
    observed_before = UtcDateTimeFilter(
        field_name="observed_at", lookup_expr="lt", help_text="ISO 8601, exclusive."
    )

    class Meta:
        model = ProbeResult
        fields = ["probe", "kernel", "host", "status", "run", "observed_after", "observed_before"]
