"""The proposals page (items, stakeholders, join requests) and the activity page.

Thin views over ``services.proposals``: validate a plain form, call one
service, redirect. Refusals: anonymous users are sent to sign in, a
non-maintainer deciding gets 403, bad or duplicate input re-renders the page
with the form error and 400, a proposal decided meanwhile gives 409.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import access, selectors
from .forms import ItemProposalForm, JoinRequestForm, StakeholderProposalForm
from .models import JoinRequest, RoadmapItem, Stakeholder
from .services import proposals


def proposals_page(request: HttpRequest, status: int = 200, **bound: forms.Form) -> HttpResponse:
    """The open proposals, the decision buttons for maintainers, and the proposal forms."""
    context = {
        "open": selectors.proposals_open(),
        "is_maintainer": access.is_maintainer(request.user),
        "acting_for": access.stakeholders_for(request.user),
        "item_form": bound.get("item_form") or ItemProposalForm(),
        "stakeholder_form": bound.get("stakeholder_form") or StakeholderProposalForm(),
        "join_form": bound.get("join_form") or JoinRequestForm(),
    }
    return render(request, "roadmap/proposals.html", context, status=status)


def _invalid(
    request: HttpRequest, name: str, form: forms.Form, err: Exception | None = None
) -> HttpResponse:
    if isinstance(err, proposals.InvalidProposal):
        form.add_error(err.field, str(err))
    return proposals_page(request, status=400, **{name: form})


def _refused(request: HttpRequest, err: proposals.ProposalError) -> HttpResponse:
    if isinstance(err, proposals.NotAllowed):
        raise PermissionDenied(str(err))
    messages.error(request, str(err))
    return proposals_page(request, status=409 if isinstance(err, proposals.AlreadyDecided) else 400)


@login_required
@require_POST
def item_propose(request: HttpRequest) -> HttpResponse:
    form = ItemProposalForm(request.POST)
    if not form.is_valid():
        return _invalid(request, "item_form", form)
    data = form.cleaned_data
    try:
        item = proposals.item_propose(
            request.user, data["area"], data["title"], data["description"], data["parent"]
        )
    except proposals.InvalidProposal as err:
        return _invalid(request, "item_form", form, err)
    messages.success(request, f"Thank you: {item.title} is proposed; a maintainer will decide.")
    return redirect("proposals")


def _decide_item(request: HttpRequest, slug: str, accept: bool) -> HttpResponse:
    item = get_object_or_404(RoadmapItem, slug=slug)
    decide = proposals.item_proposal_accept if accept else proposals.item_proposal_reject
    try:
        decide(request.user, item)
    except proposals.ProposalError as err:
        return _refused(request, err)
    messages.success(request, f"{item.title} is now {item.get_status_display().lower()}.")
    return redirect("proposals")


@login_required
@require_POST
def item_accept(request: HttpRequest, slug: str) -> HttpResponse:
    return _decide_item(request, slug, accept=True)


@login_required
@require_POST
def item_reject(request: HttpRequest, slug: str) -> HttpResponse:
    return _decide_item(request, slug, accept=False)


@login_required
@require_POST
def stakeholder_propose(request: HttpRequest) -> HttpResponse:
    form = StakeholderProposalForm(request.POST)
    if not form.is_valid():
        return _invalid(request, "stakeholder_form", form)
    data = form.cleaned_data
    try:
        stakeholder = proposals.stakeholder_propose(
            request.user, data["name"], data["kind"], data["contact"], join=data["join"]
        )
    except proposals.InvalidProposal as err:
        return _invalid(request, "stakeholder_form", form, err)
    messages.success(request, f"Thank you: {stakeholder.name} is proposed; a maintainer decides.")
    return redirect("proposals")


@login_required
@require_POST
def stakeholder_accept(request: HttpRequest, slug: str) -> HttpResponse:
    stakeholder = get_object_or_404(Stakeholder, slug=slug)
    try:
        proposals.stakeholder_accept(request.user, stakeholder)
    except proposals.ProposalError as err:
        return _refused(request, err)
    messages.success(request, f"{stakeholder.name} is accepted.")
    return redirect("proposals")


@login_required
@require_POST
def join_request_create(request: HttpRequest) -> HttpResponse:
    form = JoinRequestForm(request.POST)
    if not form.is_valid():
        return _invalid(request, "join_form", form)
    stakeholder = form.cleaned_data["stakeholder"]
    try:
        proposals.join_request_create(request.user, stakeholder)
    except proposals.InvalidProposal as err:
        return _invalid(request, "join_form", form, err)
    messages.success(request, f"You asked to join {stakeholder.name}; a maintainer will decide.")
    return redirect("proposals")


def _decide_join(request: HttpRequest, pk: int, accept: bool) -> HttpResponse:
    join = get_object_or_404(JoinRequest.objects.select_related("user", "stakeholder"), pk=pk)
    decide = proposals.join_request_accept if accept else proposals.join_request_reject
    try:
        decide(request.user, join)
    except proposals.ProposalError as err:
        return _refused(request, err)
    outcome = "is now a member of" if accept else "was turned down for"
    messages.success(request, f"{join.user.get_username()} {outcome} {join.stakeholder.name}.")
    return redirect("proposals")


@login_required
@require_POST
def join_request_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide_join(request, pk, accept=True)


@login_required
@require_POST
def join_request_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide_join(request, pk, accept=False)


def activity(request: HttpRequest) -> HttpResponse:
    """Recent changes, newest first, a page at a time; ``?before=<id>`` gives older ones."""
    before = request.GET.get("before")
    if before is not None and not (before.isascii() and before.isdigit()):
        return HttpResponseBadRequest("before must be an event id (a whole number)")
    page = selectors.activity_page(int(before) if before else None)
    return render(
        request,
        "roadmap/activity.html",
        {"page": page, "acting_for": access.stakeholders_for(request.user)},
    )
