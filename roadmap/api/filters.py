"""Query-string filters for the roadmap lists (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from roadmap.models import ActivityEvent, Claim, ItemStatus, RoadmapItem, Verb


def _active_claim_of_item() -> Exists:
    return Exists(Claim.objects.filter(item=OuterRef("pk"), released_at__isnull=True))


class ItemFilter(django_filters.FilterSet):
    area = django_filters.CharFilter(field_name="area__slug", help_text="Area slug.")
    status = django_filters.ChoiceFilter(choices=ItemStatus.choices)
    claimed_by = django_filters.CharFilter(
        method="filter_claimed_by", help_text="Stakeholder slug holding an active claim."
    )
    unclaimed = django_filters.BooleanFilter(
        method="filter_unclaimed", help_text="true: no active claim; false: at least one."
    )

    class Meta:
        model = RoadmapItem
        fields = ["area", "status", "claimed_by", "unclaimed"]

    def filter_claimed_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # One active claim per (item, stakeholder): the join cannot duplicate rows.
        return queryset.filter(claims__stakeholder__slug=value, claims__released_at__isnull=True)

    def filter_unclaimed(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        claimed = _active_claim_of_item()
        return queryset.filter(~claimed if value else claimed)


class ClaimFilter(django_filters.FilterSet):
    item = django_filters.CharFilter(field_name="item__slug", help_text="Item slug.")
    stakeholder = django_filters.CharFilter(
        field_name="stakeholder__slug", help_text="Stakeholder slug."
    )
    active = django_filters.BooleanFilter(
        field_name="released_at", lookup_expr="isnull", help_text="true: not released."
    )

    class Meta:
        model = Claim
        fields = ["item", "stakeholder", "role", "active"]


class ActivityFilter(django_filters.FilterSet):
    verb = django_filters.ChoiceFilter(choices=Verb.choices)
    item = django_filters.CharFilter(field_name="item__slug", help_text="Item slug.")
    stakeholder = django_filters.CharFilter(
        field_name="stakeholder__slug", help_text="Stakeholder slug."
    )

    class Meta:
        model = ActivityEvent
        fields = ["verb", "item", "stakeholder"]
