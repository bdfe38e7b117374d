"""Proposals, as the 2007 mail asks: "what more needs to be added?" and "who is missing?".

Any signed-in user proposes an item or a stakeholder and asks to join a
stakeholder; maintainers (``access.is_maintainer``) decide. Every decision is a
conditional update (``WHERE status = 'proposed'``, ``WHERE decided_at IS NULL``)
so two maintainers deciding at once end with one decision and one event. Each
write and its ActivityEvent share a transaction.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from .. import access
from ..models import (
    Area,
    ItemStatus,
    JoinRequest,
    Membership,
    RoadmapItem,
    Stakeholder,
    StakeholderKind,
    StakeholderState,
    Verb,
)
from .activity import activity_record

_SLUG_MAX = 50  # SlugField's default max_length


class ProposalError(Exception):
    """A proposal or decision that cannot be carried out; ``code`` is stable for an API."""

    code = "proposal_error"


class NotAllowed(ProposalError):
    code = "not_allowed"


class InvalidProposal(ProposalError):
    """Bad or duplicate input; ``field`` names the form field it belongs to, if any."""

    code = "invalid_proposal"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AlreadyDecided(ProposalError):
    code = "already_decided"


def _check_signed_in(user: AbstractBaseUser | AnonymousUser) -> None:
    if not user.is_authenticated or not user.is_active:
        raise NotAllowed("sign in to make a proposal")


def _check_maintainer(user: AbstractBaseUser | AnonymousUser) -> None:
    if not access.is_maintainer(user):
        raise NotAllowed("only maintainers decide on proposals")


def _unique_slug(model: type[RoadmapItem] | type[Stakeholder], text: str, fallback: str) -> str:
    """A slug from ``text`` not yet used by ``model``: ``base``, ``base-2``, ``base-3``, ..."""
    base = slugify(text)[: _SLUG_MAX - 4].strip("-") or fallback
    taken = set(model.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _create_with_slug(model, text: str, fallback: str, **fields):  # noqa: ANN001,ANN003,ANN202
    """Create a row with a fresh unique slug; a concurrent taker of the slug makes us retry."""
    for _ in range(5):
        slug = _unique_slug(model, text, fallback)
        try:
            with transaction.atomic():
                return model.objects.create(slug=slug, **fields)
        except IntegrityError:
            if not model.objects.filter(slug=slug).exists():
                raise  # another constraint failed: let the caller say which
    raise InvalidProposal("could not find a free address for this name; try again")


# --- "What more needs to be added to this list?" ------------------------------------------


def item_propose(
    user: AbstractBaseUser | AnonymousUser,
    area: Area,
    title: str,
    description: str = "",
    parent: RoadmapItem | None = None,
) -> RoadmapItem:
    """A new item with status "proposed", appended at the end of ``area``."""
    _check_signed_in(user)
    title = title.strip()
    if not title:
        raise InvalidProposal("give the item a title", field="title")
    if parent is not None and parent.area_id != area.pk:
        raise InvalidProposal(
            f"{parent.title} belongs to another area than {area.title}", field="parent"
        )
    duplicate = (
        RoadmapItem.objects.filter(area=area, title__iexact=title)
        .exclude(status=ItemStatus.ABANDONED)
        .exists()
    )
    if duplicate:
        raise InvalidProposal(f"{area.title} already has an item called {title!r}", field="title")
    with transaction.atomic():
        last = RoadmapItem.objects.filter(area=area).aggregate(m=Max("position"))["m"] or 0
        item = _create_with_slug(
            RoadmapItem,
            title,
            "item",
            area=area,
            parent=parent,
            title=title,
            description=description.strip(),
            position=last + 1,
            status=ItemStatus.PROPOSED,
            proposed_by=user,
        )
        activity_record(user, Verb.ITEM_PROPOSED, item=item)
    return item


def _item_decide(user: AbstractBaseUser, item: RoadmapItem, new: ItemStatus) -> RoadmapItem:
    _check_maintainer(user)
    with transaction.atomic():
        changed = RoadmapItem.objects.filter(
            pk=item.pk, status=ItemStatus.PROPOSED, proposed_by__isnull=False
        ).update(status=new, updated_at=timezone.now())
        if changed != 1:
            raise AlreadyDecided(f"{item.title} is no longer an open proposal")
        item.status = new
        activity_record(
            user, Verb.ITEM_STATUS_CHANGED, item=item, old=ItemStatus.PROPOSED.value, new=new.value
        )
    return item


def item_proposal_accept(user: AbstractBaseUser, item: RoadmapItem) -> RoadmapItem:
    """Accept a proposed item: it becomes "planned"."""
    return _item_decide(user, item, ItemStatus.PLANNED)


def item_proposal_reject(user: AbstractBaseUser, item: RoadmapItem) -> RoadmapItem:
    """Reject a proposed item: it becomes "abandoned" (kept, so its history stays readable)."""
    return _item_decide(user, item, ItemStatus.ABANDONED)


# --- "Who is missing from the list?" ------------------------------------------------------


def stakeholder_propose(
    user: AbstractBaseUser | AnonymousUser,
    name: str,
    kind: str,
    contact: str = "",
    join: bool = False,
) -> Stakeholder:
    """A new stakeholder in state "pending"; with ``join``, the proposer also asks to join it."""
    _check_signed_in(user)
    name = name.strip()
    if not name:
        raise InvalidProposal("give the stakeholder a name", field="name")
    if kind not in StakeholderKind.values:
        raise InvalidProposal(f"choose a kind: {', '.join(StakeholderKind.values)}", field="kind")
    taken = f"{name!r} is already on the list of stakeholders"
    if Stakeholder.objects.filter(name__iexact=name).exists():
        raise InvalidProposal(taken, field="name")
    try:
        with transaction.atomic():
            stakeholder = _create_with_slug(
                Stakeholder,
                name,
                "stakeholder",
                name=name,
                kind=kind,
                contact=contact.strip(),
                state=StakeholderState.PENDING,
            )
            activity_record(user, Verb.STAKEHOLDER_PROPOSED, stakeholder=stakeholder)
            if join:
                JoinRequest.objects.create(user=user, stakeholder=stakeholder)
    except IntegrityError:
        # The unique name decided a race with another proposer of the same name.
        raise InvalidProposal(taken, field="name") from None
    return stakeholder


def stakeholder_accept(user: AbstractBaseUser, stakeholder: Stakeholder) -> Stakeholder:
    """Accept a pending stakeholder: its members may now claim items for it."""
    _check_maintainer(user)
    with transaction.atomic():
        changed = Stakeholder.objects.filter(
            pk=stakeholder.pk, state=StakeholderState.PENDING
        ).update(state=StakeholderState.ACCEPTED)
        if changed != 1:
            raise AlreadyDecided(f"{stakeholder.name} has already been accepted")
        stakeholder.state = StakeholderState.ACCEPTED
        activity_record(user, Verb.STAKEHOLDER_ACCEPTED, stakeholder=stakeholder)
    return stakeholder


def join_request_create(
    user: AbstractBaseUser | AnonymousUser, stakeholder: Stakeholder
) -> JoinRequest:
    """Ask to act for ``stakeholder``; one open request per user and stakeholder."""
    _check_signed_in(user)
    if Membership.objects.filter(user=user, stakeholder=stakeholder).exists():
        raise InvalidProposal(f"you are already a member of {stakeholder.name}", "stakeholder")
    try:
        with transaction.atomic():
            return JoinRequest.objects.create(user=user, stakeholder=stakeholder)
    except IntegrityError:
        raise InvalidProposal(
            f"you have already asked to join {stakeholder.name}", "stakeholder"
        ) from None


def _join_decide(user: AbstractBaseUser, request: JoinRequest, accepted: bool) -> JoinRequest:
    _check_maintainer(user)
    now = timezone.now()
    with transaction.atomic():
        changed = JoinRequest.objects.filter(pk=request.pk, decided_at__isnull=True).update(
            decided_at=now, accepted=accepted
        )
        if changed != 1:
            raise AlreadyDecided("this join request has already been decided")
        request.decided_at, request.accepted = now, accepted
        if accepted:
            _, created = Membership.objects.get_or_create(
                user=request.user, stakeholder=request.stakeholder
            )
            if created:
                # The new member is the one who "joined"; the maintainer is kept in data.
                activity_record(
                    request.user,
                    Verb.MEMBERSHIP_ADDED,
                    stakeholder=request.stakeholder,
                    accepted_by=user.get_username(),
                )
    return request


def join_request_accept(user: AbstractBaseUser, request: JoinRequest) -> JoinRequest:
    """Accept a join request: the asker becomes a member of the stakeholder."""
    return _join_decide(user, request, accepted=True)


def join_request_reject(user: AbstractBaseUser, request: JoinRequest) -> JoinRequest:
    """Turn a join request down; the user may ask again later."""
    return _join_decide(user, request, accepted=False)
