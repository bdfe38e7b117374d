"""Probes pages: thin views over the services (the full pages come with the web issue)."""

from urllib.parse import quote as urlquote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from roadmap import access

from . import selectors
from .forms import ImportForm, MatrixFilterForm, RunForm
from .models import FINAL_RUN_STATES, Host, Kernel, ProbeRun, RunTrigger
from .services.ingest import Rejected, results_import
from .services.runs import RunError, run_cancel, run_dispatch


def host_list(request: HttpRequest) -> HttpResponse:
    hosts = Host.objects.select_related("kernel").order_by("name")
    return render(request, "probes/host_list.html", {"hosts": hosts})


def host_detail(
    request: HttpRequest, name: str, form: RunForm | None = None, status: int = 200
) -> HttpResponse:
    host = get_object_or_404(Host.objects.select_related("kernel"), name=name)
    runs = ProbeRun.objects.filter(host=host).select_related("kernel")[:20]
    context = {"host": host, "runs": runs, "form": form or RunForm(host=host)}
    return render(request, "probes/host_detail.html", context, status=status)


@login_required
@require_POST
def run_start(request: HttpRequest, name: str) -> HttpResponse:
    if not access.is_maintainer(request.user):
        raise PermissionDenied("only maintainers start runs")
    host = get_object_or_404(Host, name=name)
    form = RunForm(request.POST, host=host)
    if form.is_valid():
        try:
            run = run_dispatch(
                host,
                only=form.cleaned_data["only"],
                intrusive=form.cleaned_data["intrusive"],
                trigger=RunTrigger.MANUAL,
                user=request.user,
            )
        except RunError as err:
            form.add_error(None, str(err))
        else:
            return redirect("run_detail", pk=run.pk)
    return host_detail(request, name, form=form, status=400)


def _run_context(pk: int) -> dict:
    run = get_object_or_404(ProbeRun.objects.select_related("host", "kernel"), pk=pk)
    results = run.results.select_related("probe").order_by("probe__position")
    return {"run": run, "results": results, "final": run.state in FINAL_RUN_STATES}


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "probes/run_detail.html", _run_context(pk))


def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The part of the run page that fills in live (polled by the page's script)."""
    return render(request, "probes/_run_progress.html", _run_context(pk))


@login_required
@require_POST
def run_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not access.is_maintainer(request.user):
        raise PermissionDenied("only maintainers cancel runs")
    run = get_object_or_404(ProbeRun, pk=pk)
    try:
        run_cancel(run, request.user)
    except RunError as err:
        messages.error(request, str(err))
    return redirect("run_detail", pk=pk)


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
    context = {"matrix": grid, "form": form, "rows": _matrix_rows(grid)}
    return render(request, "probes/matrix.html", context, status=status)


def _matrix_rows(grid: selectors.Matrix) -> list[tuple[selectors.Row, SafeString]]:
    """Each row's cells as ready HTML, in kernel order.

    16,000 cells are too many for a template tag per cell (about 1 s on the benchmark
    data set); the dynamic parts (probe ids, kernel releases, which agents report) are
    escaped once per row and column, everything else comes from the status vocabulary.
    """
    base = reverse("matrix")
    columns = [(kernel.pk, escape(urlquote(kernel.release, safe=""))) for kernel in grid.kernels]
    rows = []
    for row in grid.rows:
        href = f"{base}{escape(urlquote(row.probe.pk, safe=''))}/"
        parts = []
        for kernel_id, release in columns:
            cell = row.cells.get(kernel_id)
            if cell is None:
                parts.append('<td class="cell none">—</td>')
                continue
            text = cell.status
            if cell.status == selectors.PARTIAL:
                text += " (" + ", ".join(f"{n} {s}" for s, n in cell.split.items()) + ")"
            if cell.regressed:
                text += " ⚠ regressed"
            parts.append(
                f'<td class="cell {cell.status}"><a href="{href}{release}/">{text}</a></td>'
            )
        rows.append((row, mark_safe("".join(parts))))  # noqa: S308 - escaped above
    return rows


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
