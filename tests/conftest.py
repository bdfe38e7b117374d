"""Shared fixtures: the seeded roadmap and fixed personas.

Django is imported inside fixtures only, so the engine's tests (which must run
without Django) can share this directory.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def seeded(db):
    from roadmap.services.seed import seed_load

    seed_load()


def _user(username: str, stakeholder_slug: str | None = None, maintainer: bool = False):
    from django.contrib.auth import get_user_model

    from roadmap.models import Membership, Stakeholder
    from roadmap.services.maintainers import maintainers_group_ensure

    user = get_user_model().objects.create_user(username, password="pw-" + username)
    if stakeholder_slug:
        Membership.objects.create(
            user=user, stakeholder=Stakeholder.objects.get(slug=stakeholder_slug)
        )
    if maintainer:
        user.groups.add(maintainers_group_ensure())
    return user


@pytest.fixture
def maintainer(seeded):
    return _user("maint", maintainer=True)


@pytest.fixture
def ibm_member(seeded):
    return _user("alice-ibm", "ibm")


@pytest.fixture
def openvz_member(seeded):
    return _user("olga-openvz", "openvz")


@pytest.fixture
def outsider(seeded):
    return _user("oscar-outsider")
