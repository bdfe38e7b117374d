"""Probes pages: thin views over the services (the full pages come with the web issue)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from roadmap import access

from . import selectors
from .forms import ImportForm, MatrixFilterForm
from .models import Host, Kernel
from .services.ingest import Rejected, results_import


def host_list(request: HttpRequest) -> HttpResponse:
    hosts = Host.objects.select_related("kernel").order_by("name")
    return render(request, "probes/host_list.html", {"hosts": hosts})


@login_required
def host_import(request: HttpRequest, name: str) -> HttpResponse:
    """Upload an offline host's signed results file (maintainers only)."""
    if not access.is_maintainer(request.user):
        raise PermissionDenied("only maintainers import results")
    host = get_object_or_404(Host, name=name)
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            envelope = form.cleaned_data["file"]
            if not isinstance(envelope, dict) or envelope.get("host") != host.name:
                form.add_error("file", f"This file is not signed for {host.name}.")
            else:
                try:
                    run, created = results_import(envelope)
                except Rejected as err:
                    form.add_error("file", str(err))
                else:
                    if created:
                        messages.success(request, f"Imported run {run.pk}: {run.received} results.")
                    else:
                        messages.info(request, f"Already imported as run {run.pk}; nothing added.")
                    return redirect("host_import", name=host.name)
        status = 400
    return render(request, "probes/host_import.html", {"host": host, "form": form}, status=status)


def matrix(request: HttpRequest) -> HttpResponse:
    """Probes by area and item against every kernel seen, oldest to newest."""
    form = MatrixFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    grid = selectors.feature_matrix(**{k: v for k, v in filters.items() if v})
    status = 200 if not form.errors else 400
    return render(request, "probes/matrix.html", {"matrix": grid, "form": form}, status=status)


def matrix_cell(request: HttpRequest, probe_id: str, release: str) -> HttpResponse:
    detail = selectors.cell_detail(probe_id, release)
    return render(request, "probes/matrix_cell.html", {"detail": detail})


def kernels_compare(request: HttpRequest) -> HttpResponse:
    kernels = list(selectors.kernels_ordered())
    old = Kernel.objects.filter(release=request.GET.get("old")).first()
    new = Kernel.objects.filter(release=request.GET.get("new")).first()
    comparison = selectors.kernels_compare(old, new) if old and new else None
    return render(
        request,
        "probes/compare.html",
        {"kernels": kernels, "old": old, "new": new, "comparison": comparison},
    )
