"""The OpenAPI schema validates without warnings; its viewers are served from the app."""

from __future__ import annotations

import re

from django.core.management import call_command


def test_it_validates_the_schema_without_warnings(tmp_path, db):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/claims/{id}/release/:" in text
    after = text.split("\n    Host:\n", 1)[1]
    host = re.split(r"\n    (?=\S)", after, maxsplit=1)[0]  # the Host component only
    assert "name:" in host and "secret" not in host


def test_it_serves_the_schema_and_both_viewers_without_outside_assets(api, db):
    schema = api.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    for page in ("/api/v1/docs/", "/api/v1/redoc/"):
        html = api.get(page).content.decode()
        assert "/static/drf_spectacular_sidecar/" in html
        assert "https://" not in html and "http://" not in html
