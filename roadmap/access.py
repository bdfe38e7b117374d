"""Who may act for whom: the only places permission decisions are made."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .models import Membership, Stakeholder

MAINTAINERS_GROUP = "maintainers"
ACT_FOR_ANY = "roadmap.act_for_any_stakeholder"


def is_maintainer(user: AbstractBaseUser | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    if not user.is_active:
        return False
    return user.has_perm(ACT_FOR_ANY)


def can_act_for(user: AbstractBaseUser | AnonymousUser, stakeholder: Stakeholder) -> bool:
    """Claim, change role or release on behalf of ``stakeholder``."""
    if not user.is_authenticated:
        return False
    if not user.is_active:
        return False
    if is_maintainer(user):
        return True
    return Membership.objects.filter(user=user, stakeholder=stakeholder).exists()


def stakeholders_for(user: AbstractBaseUser | AnonymousUser) -> list[Stakeholder]:
    """The accepted stakeholders ``user`` acts for (every one, for maintainers)."""
    if not user.is_authenticated:
        return []
    accepted = Stakeholder.objects.filter(state="accepted")
    if is_maintainer(user):
        return list(accepted)
    return list(accepted.filter(memberships__user=user))
