"""Writing the append-only activity log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from ..models import ActivityEvent, RoadmapItem, Stakeholder, Verb


def activity_record(
    actor: AbstractBaseUser | None,
    verb: Verb,
    *,
    item: RoadmapItem | None = None,
    stakeholder: Stakeholder | None = None,
    **data: Any,
) -> ActivityEvent:
    return ActivityEvent.objects.create(
        actor=actor, verb=verb, item=item, stakeholder=stakeholder, data=data
    )
