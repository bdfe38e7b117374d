"""Who may call the API at all; per-object rules live in roadmap.access (via the services).

Reads are open to anonymous users unless ``API_ANONYMOUS_READ`` is off; every
write needs a signed-in user, and the service it calls decides whether that
user may act (``roadmap.access``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from roadmap import access

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views is loading
    from rest_framework.views import APIView


class ReadOpenWriteAuthenticated(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.user.is_authenticated:
            return True
        if request.method not in SAFE_METHODS:
            return False
        return settings.API_ANONYMOUS_READ


class Maintainer(BasePermission):
    """Only maintainers (``roadmap.access.is_maintainer``) may call this view's writes."""

    message = "Only maintainers may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return access.is_maintainer(request.user)
