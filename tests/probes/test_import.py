"""Offline import: `engine run --json` on an air-gapped host, signed, imported once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from probes.models import LatestResult, ProbeResult, ProbeRun
from probes.services import hosts

ROOT = Path(__file__).resolve().parents[2]


def engine_json(tmp_path: Path) -> Path:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "probes.engine",
            "run",
            "--only",
            "ns.uts.*",
            "--only",
            "keys.basic",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    path = tmp_path / "results.json"
    path.write_text(done.stdout)
    return path


def sign(path: Path, host: str, secret: str) -> Path:
    out = path.with_suffix(".signed.json")
    subprocess.run(
        [sys.executable, "-m", "probes.agent", "sign", str(path), "--host", host, "-o", str(out)],
        cwd=ROOT,
        env={**os.environ, "AGENT_SECRET": secret},
        check=True,
        timeout=60,
    )
    return out


@pytest.fixture
def offline(seeded):
    from probes.services.catalogue import catalogue_sync

    catalogue_sync()
    return hosts.host_enroll("airgap")


def test_it_imports_a_signed_file_once(offline, tmp_path, capsys):
    signed = sign(engine_json(tmp_path), "airgap", offline.secret)
    call_command("import_results", str(signed))
    assert "imported run" in capsys.readouterr().out
    run = ProbeRun.objects.get()
    assert (run.trigger, run.state, run.host, run.received) == ("import", "done", offline, 2)
    assert run.kernel.release == os.uname().release
    assert set(ProbeResult.objects.values_list("probe_id", flat=True)) == {
        "ns.uts.isolation",
        "keys.basic",
    }
    call_command("import_results", str(signed))
    assert "nothing added" in capsys.readouterr().out
    assert (
        ProbeRun.objects.count(),
        ProbeResult.objects.count(),
        LatestResult.objects.count(),
    ) == (1, 2, 2)


def test_it_rejects_a_file_signed_for_another_host(offline, tmp_path):
    other = hosts.host_enroll("elsewhere")
    signed = sign(engine_json(tmp_path), "airgap", other.secret)
    with pytest.raises(CommandError, match="bad signature"):
        call_command("import_results", str(signed))
    assert not ProbeRun.objects.exists()


def test_it_rejects_an_unsigned_engine_document(offline, tmp_path):
    with pytest.raises(CommandError, match="not a results file signed for an enrolled host"):
        call_command("import_results", str(engine_json(tmp_path)))


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "is not JSON"),
        ("[]", "not a results file"),
    ],
)
def test_it_rejects_malformed_files_clearly(offline, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_results", str(path))


def test_it_rejects_a_signed_document_of_the_wrong_shape(offline, tmp_path):
    from probes import protocol

    for body, message in [
        ({"schema": 99, "results": []}, "schema 99"),
        (
            {
                "schema": 1,
                "facts": {"kernel": {"release": "6.1"}},
                "results": [{"probe_id": "nope", "status": "pass"}],
            },
            "unknown probe",
        ),
        ({"schema": 1, "facts": {}, "results": []}, "malformed results file"),
    ]:
        path = tmp_path / "shape.json"
        path.write_text(
            json.dumps(protocol.seal("airgap", protocol.KIND_IMPORT, body, offline.secret))
        )
        with pytest.raises(CommandError, match=message):
            call_command("import_results", str(path))
    assert not ProbeRun.objects.exists()
    assert not ProbeResult.objects.exists()


def test_it_reports_a_missing_file(offline):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_results", "/nonexistent/file.json")
