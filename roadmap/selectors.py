"""The roadmap's read side: queries with their joins, in a fixed number of SQL queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from .models import (
    ActivityEvent,
    Area,
    Claim,
    ItemStatus,
    JoinRequest,
    Membership,
    RoadmapItem,
    Stakeholder,
    StakeholderState,
)


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


def item_page(slug: str) -> RoadmapItem:
    """One item with its area, parent, children, active claims and recent history."""
    return get_object_or_404(
        RoadmapItem.objects.select_related("area", "parent").prefetch_related(
            "children",
            Prefetch("claims", queryset=active_claims(), to_attr="active_claims"),
            Prefetch(
                "events",
                queryset=ActivityEvent.objects.select_related("actor", "stakeholder")[:50],
                to_attr="recent_events",
            ),
        ),
        slug=slug,
    )


def stakeholder_page(slug: str) -> Stakeholder:
    """A stakeholder with its members and active claims in roadmap order."""
    claims = (
        active_claims()
        .select_related("item", "item__area")
        .order_by("item__area__position", "item__position")
    )
    return get_object_or_404(
        Stakeholder.objects.prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("user")),
            Prefetch("claims", queryset=claims, to_attr="active_claims"),
        ),
        slug=slug,
    )


def stakeholder_choices() -> list[tuple[str, str]]:
    """Every stakeholder as (slug, name), by name: the "claimed by" filter. One query."""
    return list(Stakeholder.objects.order_by("name").values_list("slug", "name"))


def roadmap_tree_filter(
    tree: list[AreaRows],
    *,
    area: str = "",
    status: str = "",
    claimed_by: str = "",
    unclaimed: bool = False,
) -> tuple[list[AreaRows], set[int]]:
    """The rows of ``tree`` that match, with their ancestors kept as context. No queries.

    An item matches when it has ``status``, holds an active claim by the stakeholder with
    slug ``claimed_by``, and (with ``unclaimed``) holds no active claim; an empty criterion
    matches everything. ``area`` keeps that area's section only. A matching item's parent
    chain stays in the tree (at its usual depth), so a child is never shown without its
    parent; those ancestors are context, not matches. Returns the filtered tree and the
    primary keys of the matching items.
    """
    rows = {row.item.pk: row for group in tree for row in group.rows}

    def matches(row: ItemRow) -> bool:
        if status and row.item.status != status:
            return False
        if claimed_by and not any(c.stakeholder.slug == claimed_by for c in row.claims):
            return False
        return not (unclaimed and row.claims)

    matched = {pk for pk, row in rows.items() if matches(row)}
    shown = set(matched)
    for pk in matched:
        parent_id = rows[pk].item.parent_id
        while parent_id is not None and parent_id not in shown and parent_id in rows:
            shown.add(parent_id)
            parent_id = rows[parent_id].item.parent_id
    filtered = [
        AreaRows(group.area, [row for row in group.rows if row.item.pk in shown])
        for group in tree
        if not area or group.area.slug == area
    ]
    return filtered, matched


ACTIVITY_PAGE_SIZE = 100


@dataclass
class OpenProposals:
    items: list[RoadmapItem]
    stakeholders: list[Stakeholder]
    join_requests: list[JoinRequest]


def proposals_open() -> OpenProposals:
    """Open item proposals (made through this flow), pending stakeholders, open join requests.

    Three queries whatever the size.
    """
    return OpenProposals(
        items=list(
            RoadmapItem.objects.filter(status=ItemStatus.PROPOSED, proposed_by__isnull=False)
            .select_related("area", "parent", "proposed_by")
            .order_by("created_at", "id")
        ),
        stakeholders=list(
            Stakeholder.objects.filter(state=StakeholderState.PENDING).order_by("created_at", "id")
        ),
        join_requests=list(
            JoinRequest.objects.filter(decided_at__isnull=True).select_related(
                "user", "stakeholder"
            )
        ),
    )


@dataclass
class ActivityPage:
    events: list[ActivityEvent]
    older: int | None  # the ``before`` id of the next (older) page, if there is one


def activity_page(before: int | None = None, size: int = ACTIVITY_PAGE_SIZE) -> ActivityPage:
    """The newest ``size`` events with an id below ``before``, newest first; one query.

    Paging by id (not offset) keeps each page one index range scan however deep.
    """
    events = ActivityEvent.objects.select_related("actor", "item", "stakeholder").order_by("-id")
    if before is not None:
        events = events.filter(id__lt=before)
    rows = list(events[: size + 1])
    older = rows[size - 1].pk if len(rows) > size else None
    return ActivityPage(events=rows[:size], older=older)
