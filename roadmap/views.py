"""Roadmap pages: thin views over selectors and services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from probes import selectors as evidence

from . import access, selectors
from .forms import ClaimForm, RoadmapFilterForm, RoleForm
from .models import Claim, RoadmapItem
from .services import claims

# A refused claim action answers with the item page and the status that says why.
_STATUS = {
    claims.AlreadyClaimed: 409,
    claims.NotActive: 409,
    claims.InvalidRole: 400,
}


def home(request: HttpRequest) -> HttpResponse:
    """The roadmap tree with claims and evidence, filtered by GET parameters.

    Queries are fixed: areas, items, claims, stakeholders (for the filter), and the
    matrix's kernels, probes, latest results. Invalid filters answer 400 with the
    whole roadmap and the form's errors. Filtered items keep their ancestors as context.
    """
    tree = selectors.roadmap_tree()
    form = RoadmapFilterForm(
        request.GET, [group.area for group in tree], selectors.stakeholder_choices()
    )
    status = 200
    matched: set[int] | None = None  # None: no filter, every row is a match
    if not form.is_valid():
        status = 400
    elif any(form.cleaned_data.values()):
        tree, matched = selectors.roadmap_tree_filter(tree, **form.cleaned_data)
        tree = [group for group in tree if group.rows]
    item_evidence = evidence.evidence_by_item(evidence.feature_matrix())
    sections = [
        {
            "area": group.area,
            "rows": [
                {
                    "row": row,
                    "evidence": item_evidence.get(row.item.pk),
                    "context": matched is not None and row.item.pk not in matched,
                }
                for row in group.rows
            ],
        }
        for group in tree
    ]
    context = {
        "sections": sections,
        "form": form,
        "filtered": matched is not None,
        "matches": sum(not r["context"] for s in sections for r in s["rows"]),
        "acting_for": access.stakeholders_for(request.user),
    }
    return render(request, "roadmap/home.html", context, status=status)


def item_detail(
    request: HttpRequest, slug: str, form: ClaimForm | None = None, status: int = 200
) -> HttpResponse:
    item = selectors.item_page(slug)
    acting_for = access.stakeholders_for(request.user)
    matrix = evidence.feature_matrix(item=slug)
    context = {
        "item": item,
        "acting_for": acting_for,
        "can_act": {
            c.pk for c in item.active_claims if access.can_act_for(request.user, c.stakeholder)
        },
        "claim_form": form or ClaimForm(acting_for=acting_for),
        "role_form": RoleForm(),
        "matrix": matrix,
        "evidence": evidence.evidence_by_item(matrix).get(item.pk),
    }
    return render(request, "roadmap/item_detail.html", context, status=status)


def _refused(request: HttpRequest, slug: str, err: claims.ClaimError, form=None) -> HttpResponse:  # noqa: ANN001
    if isinstance(err, claims.NotAllowed):
        raise PermissionDenied(str(err))
    messages.error(request, str(err))
    return item_detail(request, slug, form=form, status=_STATUS.get(type(err), 400))


@login_required
@require_POST
def claim_create(request: HttpRequest, slug: str) -> HttpResponse:
    item = get_object_or_404(RoadmapItem, slug=slug)
    acting_for = access.stakeholders_for(request.user)
    form = ClaimForm(request.POST, acting_for=acting_for)
    if not form.is_valid():
        if not acting_for:
            raise PermissionDenied("you act for no stakeholder")
        return item_detail(request, slug, form=form, status=400)
    try:
        claims.claim_create(
            request.user,
            item,
            form.cleaned_data["stakeholder"],
            form.cleaned_data["role"],
            form.cleaned_data["note"],
        )
    except claims.ClaimError as err:
        return _refused(request, slug, err, form)
    messages.success(request, f"{form.cleaned_data['stakeholder'].name} claimed {item.title}.")
    return redirect("item_detail", slug=slug)


@login_required
@require_POST
def claim_role(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(Claim.objects.select_related("item", "stakeholder"), pk=pk)
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise claims.InvalidRole("choose one of lead, contributor, reviewer, interested")
        claims.claim_change_role(request.user, claim, form.cleaned_data["role"])
    except claims.ClaimError as err:
        return _refused(request, claim.item.slug, err)
    messages.success(request, f"{claim.stakeholder.name} is now {claim.get_role_display()}.")
    return redirect("item_detail", slug=claim.item.slug)


@login_required
@require_POST
def claim_release(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(Claim.objects.select_related("item", "stakeholder"), pk=pk)
    try:
        claims.claim_release(request.user, claim)
    except claims.ClaimError as err:
        return _refused(request, claim.item.slug, err)
    messages.success(request, f"{claim.stakeholder.name} released {claim.item.title}.")
    return redirect("item_detail", slug=claim.item.slug)


def stakeholder_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return render(
        request,
        "roadmap/stakeholder_detail.html",
        {
            "stakeholder": selectors.stakeholder_page(slug),
            "acting_for": access.stakeholders_for(request.user),
        },
    )
