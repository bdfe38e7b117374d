"""Refuse what no page or endpoint can use, before it reaches the database."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse


class RejectNulMiddleware:
    """A NUL character in the path or the query string is a 400.

    PostgreSQL cannot store or compare text holding NUL, so such a value would
    otherwise surface as a database error (a 500) wherever it is looked up.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = {
            key.replace("\x00", "\\0"): ["This value holds a NUL character."]
            for key, values in request.GET.lists()
            if "\x00" in key or any("\x00" in v for v in values)
        }
        if fields or "\x00" in request.path:
            message = "The request holds a NUL character."
            if request.path.startswith("/api/"):
                from roadmap.api.errors import error_body

                return JsonResponse(error_body("invalid", message, fields), status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)
