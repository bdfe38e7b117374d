"""The maintainers group and the first logins of a new installation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from ..access import MAINTAINERS_GROUP
from ..models import Membership, Stakeholder


def maintainers_group_ensure() -> Group:
    group, _ = Group.objects.get_or_create(name=MAINTAINERS_GROUP)
    permission = Permission.objects.filter(
        content_type__app_label="roadmap", codename="act_for_any_stakeholder"
    ).first()
    if permission is not None:
        group.permissions.add(permission)
    return group


@dataclass
class NewLogin:
    username: str
    password: str | None  # None when the account already existed: never shown twice
    role: str


@transaction.atomic
def logins_bootstrap(stakeholder_slug: str = "ibm") -> list[NewLogin]:
    """Create the maintainer and one stakeholder member, once each."""
    User = get_user_model()
    logins = []
    for username, role in (("maintainer", "maintainer"), (stakeholder_slug, "member")):
        user, created = User.objects.get_or_create(username=username)
        password = None
        if created:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.is_staff = role == "maintainer"
            user.save(update_fields=["password", "is_staff"])
        if role == "maintainer":
            user.groups.add(maintainers_group_ensure())
            if created:
                user.is_superuser = True
                user.save(update_fields=["is_superuser"])
        else:
            stakeholder = Stakeholder.objects.get(slug=stakeholder_slug)
            Membership.objects.get_or_create(user=user, stakeholder=stakeholder)
            role = f"member of {stakeholder.name}"
        logins.append(NewLogin(username, password, role))
    return logins
