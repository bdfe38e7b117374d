"""Rate limits: API writes per user, offline imports and sign-ins per client address."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle


class WriteRateThrottle(SimpleRateThrottle):
    """Unsafe methods only, keyed by user (or address when anonymous); reads are free."""

    scope = "write"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.method in SAFE_METHODS:
            return None
        user = getattr(request, "user", None)
        ident = user.pk if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ImportRateThrottle(SimpleRateThrottle):
    """Offline imports, keyed by client address (no user is involved)."""

    scope = "import"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginRateThrottle(SimpleRateThrottle):
    """Failed sign-ins (the session login page, a plain Django view), per client address.

    Only failures count, so people who type their password right are never slowed
    down; once an address has used up its failures, every attempt waits.
    """

    scope = "login"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def blocked(self, request: Any) -> bool:
        """Whether this address is out of attempts (records nothing)."""
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def failure_record(self, request: Any) -> None:
        self.blocked(request)  # loads the current history
        self.throttle_success()
