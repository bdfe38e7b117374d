"""The roadmap's read side: queries with their joins, in a fixed number of SQL queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from .models import Area, Claim, RoadmapItem


@dataclass
class ItemRow:
    item: RoadmapItem
    depth: int
    claims: list[Claim]


@dataclass
class AreaRows:
    area: Area
    rows: list[ItemRow]


def active_claims() -> QuerySet[Claim]:
    return Claim.objects.filter(released_at__isnull=True).select_related("stakeholder")


def roadmap_tree() -> list[AreaRows]:
    """Every area with its items depth-first (children after their parent) and active claims.

    Three queries whatever the size: areas, items, claims.
    """
    items = list(
        RoadmapItem.objects.select_related(None)
        .order_by("area__position", "position")
        .prefetch_related(Prefetch("claims", queryset=active_claims(), to_attr="active_claims"))
    )
    children: dict[int | None, list[RoadmapItem]] = {}
    for item in items:
        children.setdefault(item.parent_id, []).append(item)

    by_area: dict[int, list[ItemRow]] = {}

    def walk(item: RoadmapItem, depth: int) -> None:
        by_area.setdefault(item.area_id, []).append(ItemRow(item, depth, item.active_claims))
        for child in children.get(item.pk, []):
            walk(child, depth + 1)

    for root in children.get(None, []):
        walk(root, 0)
    return [AreaRows(area, by_area.get(area.pk, [])) for area in Area.objects.order_by("position")]
