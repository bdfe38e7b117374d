"""GET /api/v1/report/: the summit report as JSON, or Markdown with ``?format=md``.

The view validates ``since`` and ``format``, calls ``roadmap.report.summit_report`` and
answers conditional requests: the ETag is a strong digest of the report without its
``generated_at`` (so it only changes when the content does) and of the format, so JSON and
Markdown never share one. A matching ``If-None-Match`` gets a 304 through Django's own
``get_conditional_response``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, time
from typing import Any

from django.http import HttpResponseBase
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from roadmap.report import report_markdown, summit_report

from .schema import ERRORS, READ_ERRORS, ErrorSerializer

FORMATS = ("json", "md")


class MarkdownRenderer(renderers.BaseRenderer):
    """Renders a report dict with ``report_markdown``."""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict | None = None,
    ) -> bytes:
        return report_markdown(data).encode(self.charset)


def since_parse(raw: str | None) -> datetime | None:
    """An ISO date (midnight UTC) or datetime (UTC when naive); ValidationError when neither."""
    if raw is None or raw == "":
        return None
    try:
        moment = parse_datetime(raw)
        if moment is None:
            day = parse_date(raw)
            moment = datetime.combine(day, time.min) if day else None
        if moment is not None:
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):  # well formed but impossible: 2024-02-30, year 10000
        moment = None
    if moment is None:
        raise exceptions.ValidationError(
            {"since": ["Give an ISO date (2024-05-01) or datetime (2024-05-01T12:00:00Z)."]}
        )
    return moment


def report_etag(report: dict[str, Any], fmt: str) -> str:
    """A strong ETag over the content and the format, ignoring the generation time."""
    content = {key: value for key, value in report.items() if key != "generated_at"}
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(f"{fmt}\n{body}".encode()).hexdigest()[:40] + '"'


class ReportView(APIView):
    """The summit report: per area and item its status, owners, evidence per kernel;
    open regressions, unclaimed items and a summary; with ``since``, what changed."""

    renderer_classes = [renderers.JSONRenderer, MarkdownRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple:
        fmt = request.query_params.get("format")
        if fmt is not None and fmt not in FORMATS:
            if force:  # answering an error: in the API's JSON format
                return renderers.JSONRenderer(), renderers.JSONRenderer.media_type
            raise exceptions.ValidationError({"format": [f"Choose one of {', '.join(FORMATS)}."]})
        return super().perform_content_negotiation(request, force)

    def handle_exception(self, exc: Exception) -> Response:
        # Refusals are JSON in the one error format, even when Markdown was asked for.
        self.request.accepted_renderer = renderers.JSONRenderer()
        self.request.accepted_media_type = renderers.JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="ISO date or datetime: add what changed after it.",
            ),
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(FORMATS)),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The report (schema 1)."
            ),
            (200, "text/markdown"): OpenApiResponse(
                OpenApiTypes.STR, description="The report as Markdown."
            ),
            (304, "application/json"): OpenApiResponse(
                description="Not modified (If-None-Match matched the ETag)."
            ),
            # Refusals are JSON whatever the format asked for.
            **{
                (int(code), "application/json"): OpenApiResponse(
                    ErrorSerializer, description=ERRORS[code]
                )
                for code in READ_ERRORS
            },
        },
    )
    def get(self, request: Request) -> HttpResponseBase:
        since = since_parse(request.query_params.get("since"))
        report = summit_report(since)
        etag = report_etag(report, request.accepted_renderer.format)
        response = get_conditional_response(request, etag=etag)
        if response is None:
            response = Response(report)
        response["ETag"] = etag
        patch_vary_headers(response, ["Accept"])
        return response
