"""Claims: claim an item for a stakeholder, change the role, release.

The pages and the API both call these. Each checks access, changes the row
race-safely (a partial unique constraint for claims, conditional updates for
changes) and writes an ActivityEvent in the same transaction.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import access
from ..models import Claim, ClaimRole, RoadmapItem, Stakeholder, StakeholderState, Verb
from .activity import activity_record


class ClaimError(Exception):
    """A claim request that cannot be carried out; ``code`` is stable for the API."""

    code = "claim_error"


class NotAllowed(ClaimError):
    code = "not_allowed"


class AlreadyClaimed(ClaimError):
    code = "already_claimed"


class NotActive(ClaimError):
    code = "claim_not_active"


class InvalidRole(ClaimError):
    code = "invalid_role"


def _check_role(role: str) -> ClaimRole:
    try:
        return ClaimRole(role)
    except ValueError:
        choices = ", ".join(ClaimRole.values)
        raise InvalidRole(f"unknown role {role!r}; choose one of {choices}") from None


def _check_access(user: AbstractBaseUser, stakeholder: Stakeholder) -> None:
    if not access.can_act_for(user, stakeholder):
        raise NotAllowed(f"you may not act for {stakeholder.name}")


def claim_create(
    user: AbstractBaseUser,
    item: RoadmapItem,
    stakeholder: Stakeholder,
    role: str,
    note: str = "",
) -> Claim:
    _check_access(user, stakeholder)  # who may act comes before what they asked
    role = _check_role(role)
    if stakeholder.state != StakeholderState.ACCEPTED:
        raise NotAllowed(f"{stakeholder.name} is not accepted yet")
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                item=item, stakeholder=stakeholder, role=role, note=note, created_by=user
            )
            activity_record(user, Verb.CLAIMED, item=item, stakeholder=stakeholder, role=role)
    except IntegrityError:
        # The partial unique index decided the race: someone claimed it first.
        raise AlreadyClaimed(
            f"{stakeholder.name} already has an active claim on {item.title}"
        ) from None
    return claim


def claim_change_role(user: AbstractBaseUser, claim: Claim, role: str) -> Claim:
    _check_access(user, claim.stakeholder)
    role = _check_role(role)
    with transaction.atomic():
        old = claim.role
        changed = Claim.objects.filter(pk=claim.pk, released_at__isnull=True).update(role=role)
        if changed != 1:
            raise NotActive("this claim has been released")
        claim.role = role
        activity_record(
            user,
            Verb.ROLE_CHANGED,
            item=claim.item,
            stakeholder=claim.stakeholder,
            old_role=old,
            role=role,
        )
    return claim


def claim_release(user: AbstractBaseUser, claim: Claim) -> Claim:
    _check_access(user, claim.stakeholder)
    now = timezone.now()
    with transaction.atomic():
        changed = Claim.objects.filter(pk=claim.pk, released_at__isnull=True).update(
            released_at=now, released_by=user
        )
        if changed != 1:
            raise NotActive("this claim has already been released")
        claim.released_at, claim.released_by = now, user
        activity_record(
            user, Verb.RELEASED, item=claim.item, stakeholder=claim.stakeholder, role=claim.role
        )
    return claim
