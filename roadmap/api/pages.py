"""The server-rendered pages that belong to the API: API tokens and a throttled sign-in.

Tokens are django-rest-knox tokens: only a SHA-512 digest is stored, so the
value is shown once, in the answer to the request that created it, and never
again. A user sees, creates and revokes only their own tokens.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from knox.models import AuthToken

from .throttles import LoginRateThrottle

MAX_TOKENS_PER_USER = 20


def _page(request: HttpRequest, *, new_token: str = "", status: int = 200) -> HttpResponse:
    tokens = AuthToken.objects.filter(user=request.user).order_by("-created")
    context: dict[str, Any] = {
        "tokens": tokens,
        "new_token": new_token,
        "limit": MAX_TOKENS_PER_USER,
    }
    return render(request, "api/tokens.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """GET lists the user's tokens; POST creates one and shows its value this once."""
    if request.method == "GET":
        return _page(request)
    if AuthToken.objects.filter(user=request.user).count() >= MAX_TOKENS_PER_USER:
        return _page(request, status=400)
    _, value = AuthToken.objects.create(user=request.user)
    return _page(request, new_token=value, status=201)


@login_required
@require_http_methods(["POST"])
def token_revoke(request: HttpRequest, digest: str) -> HttpResponse:
    """Delete one of the user's own tokens (another user's is a 404, as if absent)."""
    deleted, _ = AuthToken.objects.filter(user=request.user, digest=digest).delete()
    if not deleted:
        raise Http404("no such token")
    return redirect("api-tokens")


class ThrottledLoginView(auth_views.LoginView):
    """Django's sign-in page, with a per-address limit on failed attempts."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = LoginRateThrottle()
        if throttle.blocked(request):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, "Too many failed sign-ins; try again in a minute.")
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(int(throttle.wait() or 0) + 1)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        LoginRateThrottle().failure_record(self.request)
        return super().form_invalid(form)
