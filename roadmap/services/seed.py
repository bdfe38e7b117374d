"""Loading the 2007 roadmap seed: idempotent and never overwriting later edits."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from ..models import Area, RoadmapItem, Stakeholder, StakeholderState
from ..seed import ROADMAP_2007, STAKEHOLDERS_2007, SeedItem


@dataclass
class SeedReport:
    created: int = 0
    existing: int = 0


@transaction.atomic
def seed_load() -> SeedReport:
    """Create whatever of the seed is missing; leave existing rows as they are."""
    report = SeedReport()

    def count(created: bool) -> None:
        if created:
            report.created += 1
        else:
            report.existing += 1

    for position, seed_area in enumerate(ROADMAP_2007, start=1):
        area, created = Area.objects.get_or_create(
            slug=seed_area.slug,
            defaults={
                "title": seed_area.title,
                "theme": seed_area.theme,
                "position": position,
                "notes": "\n".join(seed_area.notes),
            },
        )
        count(created)
        order = 0

        def add(seed_item: SeedItem, parent: RoadmapItem | None, area: Area = area) -> None:
            nonlocal order
            order += 1
            item, created = RoadmapItem.objects.get_or_create(
                slug=seed_item.slug,
                defaults={
                    "area": area,
                    "parent": parent,
                    "title": seed_item.title,
                    "position": order,
                    "status": seed_item.status,
                    "notes": "\n".join(seed_item.notes),
                },
            )
            count(created)
            for child in seed_item.children:
                add(child, item)

        for seed_item in seed_area.items:
            add(seed_item, None)

    for seed_holder in STAKEHOLDERS_2007:
        _, created = Stakeholder.objects.get_or_create(
            slug=seed_holder.slug,
            defaults={
                "name": seed_holder.name,
                "kind": seed_holder.kind,
                "contact": seed_holder.contact,
                "contact_uncertain": seed_holder.contact_uncertain,
                "state": StakeholderState.ACCEPTED,
            },
        )
        count(created)
    return report
