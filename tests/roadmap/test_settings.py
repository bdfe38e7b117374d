"""Production settings: check --deploy is clean, and missing secrets fail loudly."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, "DJANGO_SETTINGS_MODULE": "roadmap.settings", **env},
    )


def test_it_passes_check_deploy_with_production_values(tmp_path):
    done = manage(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "roadmap.example.org",
            "ROADMAP_VAR_DIR": str(tmp_path),
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path):
    done = manage({"DEBUG": "false", "ROADMAP_VAR_DIR": str(tmp_path)}, "check")
    assert done.returncode != 0
    assert "Set the SECRET_KEY environment variable" in done.stderr


def test_it_flags_debug_settings_as_unfit_for_deployment(tmp_path):
    done = manage(
        {"DEBUG": "true", "ROADMAP_VAR_DIR": str(tmp_path)},
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert done.returncode != 0
