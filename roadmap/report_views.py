"""The summit report as a printable page and as a Markdown download.

Both are thin: ``roadmap.report.summit_report`` builds the content (in a fixed number of
queries) and the page or ``report_markdown`` renders it. The report is public, like the
roadmap it summarises.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from probes.engine.results import Status
from probes.selectors import PARTIAL

from . import access
from .models import ClaimRole, ItemStatus
from .report import report_markdown, summit_report

# Status in words for the page (a printout has no colour to fall back on).
CELL_WORDS = {
    Status.PASS.value: "passes",
    Status.FAIL.value: "fails",
    Status.UNSUPPORTED.value: "unsupported",
    Status.DISABLED.value: "disabled",
    Status.DENIED.value: "denied (no privilege)",
    Status.SKIPPED.value: "skipped",
    Status.ERROR.value: "probe error",
    Status.TIMEOUT.value: "timed out",
    PARTIAL: "partial (hosts disagree)",
}
ROLE_WORDS = dict(ClaimRole.choices)
ITEM_WORDS = dict(ItemStatus.choices)


def _for_page(report: dict[str, Any]) -> dict[str, Any]:
    """Adds display words beside the report's codes; the codes stay for the markup."""
    for area in report["areas"]:
        for item in area["items"]:
            item["status_words"] = ITEM_WORDS.get(item["status"], item["status"])
            for owner in item["owners"]:
                owner["role_words"] = ROLE_WORDS.get(owner["role"], owner["role"])
            item["evidence"]["cells"] = [
                {"kernel": release, "words": CELL_WORDS.get(cell["status"], cell["status"]), **cell}
                for release, cell in item["evidence"]["kernels"].items()
            ]
    for regression in report["regressions"]:
        regression["words"] = CELL_WORDS.get(regression["status"], regression["status"])
    report["summary"]["by_status_words"] = [
        (ITEM_WORDS.get(s, s), n) for s, n in report["summary"]["by_status"].items()
    ]
    return report


def report_page(request: HttpRequest) -> HttpResponse:
    report = _for_page(summit_report())
    titles = {item["slug"]: item["title"] for a in report["areas"] for item in a["items"]}
    return render(
        request,
        "roadmap/report.html",
        {
            "report": report,
            # Absolute links, so that a printout (which shows link URLs) can be followed.
            "site": request.build_absolute_uri("/").rstrip("/"),
            "unclaimed": [(slug, titles.get(slug, slug)) for slug in report["unclaimed"]],
            "acting_for": access.stakeholders_for(request.user),
        },
    )


def report_download(request: HttpRequest) -> HttpResponse:
    """The same report as a Markdown attachment."""
    response = HttpResponse(
        report_markdown(summit_report()), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="summit-report.md"'
    return response
