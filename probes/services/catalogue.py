"""Keeping the Probe rows in step with the engine's catalogue."""

from __future__ import annotations

from django.db import transaction

from probes.engine import catalogue
from roadmap.models import Area, RoadmapItem

from ..models import Probe


@transaction.atomic
def catalogue_sync() -> int:
    """Create or update a row per catalogue probe; mark vanished ones. Returns the count."""
    declared = catalogue.load()
    areas = {a.slug: a for a in Area.objects.all()}
    items = {i.slug: i for i in RoadmapItem.objects.all()}
    for position, decl in enumerate(declared.values()):
        Probe.objects.update_or_create(
            id=decl.id,
            defaults={
                "title": decl.title,
                "area": areas[decl.area],
                "item": items.get(decl.item),  # None when it is evidence for a whole area
                "since": decl.since,
                "config": list(decl.config),
                "needs_root": decl.needs_root,
                "intrusive": decl.intrusive,
                "timeout": decl.timeout,
                "position": position,
                "in_catalogue": True,
            },
        )
    Probe.objects.exclude(id__in=list(declared)).update(in_catalogue=False)
    return len(declared)
