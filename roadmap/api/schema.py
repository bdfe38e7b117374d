"""OpenAPI generation: every operation documents the one error shape for its 4xx answers."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable; scripts branch on it.")
    message = serializers.CharField(help_text="For a person.")
    fields = serializers.DictField(
        child=serializers.JSONField(), help_text="Input field -> its problems; empty when none."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERRORS = {
    "400": "Bad input (malformed JSON, wrong types, a refused request).",
    "401": "Bad or revoked credentials.",
    "403": "Not allowed.",
    "404": "No such object.",
    "409": "Conflicts with the current state.",
    "429": "Too many requests.",
}
READ_ERRORS = ("400", "401", "403", "404")


class TokenScheme(KnoxTokenScheme):
    """Our hardened knox authentication, documented as knox's (Authorization: Token ...)."""

    target_class = "roadmap.api.authentication.TokenAuthentication"
    name = "tokenAuth"


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        bodies = super()._get_response_bodies(direction=direction)
        codes = READ_ERRORS if self.method in ("GET", "HEAD") else tuple(ERRORS)
        for code in codes:
            if code not in bodies:
                response = OpenApiResponse(ErrorSerializer, description=ERRORS[code])
                bodies[code] = self._get_response_for_code(response, code, direction=direction)
        return bodies
