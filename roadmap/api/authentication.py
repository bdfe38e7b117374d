"""Token authentication for scripts: django-rest-knox, hardened against odd headers."""

from __future__ import annotations

from typing import Any

from knox import auth
from rest_framework import exceptions


class TokenAuthentication(auth.TokenAuthentication):
    """Knox's token check; a header that is not ASCII is refused (knox itself would crash
    decoding it: a 500 where a 401 belongs). Knox tokens are hex, so nothing valid is lost."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        try:
            token.decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)
