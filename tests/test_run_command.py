"""The README's first command brings the site up with the seed and prints the logins."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_it_serves_the_seeded_roadmap_with_embedded_defaults(tmp_path):
    port = free_port()
    embedded = {
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "DJANGO_SETTINGS_MODULE",
        "SECRET_KEY",
        "DEBUG",
    }
    env = {k: v for k, v in os.environ.items() if k not in embedded}
    env.update(ROADMAP_VAR_DIR=str(tmp_path), ROADMAP_PORT=str(port))
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["bin/run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    body = response.read().decode()
                break
            except OSError:
                assert proc.poll() is None, log_path.read_text()
                time.sleep(0.5)
        assert "overall restart strategy" in body
        assert (tmp_path / "roadmap.sqlite3").exists()
        output = log_path.read_text()
        assert "login maintainer (maintainer): password " in output
        assert "login ibm (member of IBM): password " in output

        # The local agent probes this host: its first run finishes within a minute.
        query = (
            "from probes.models import ProbeRun as R; "
            "print(*R.objects.values_list('state', 'received', 'expected').first())"
        )
        shell = [".venv/bin/python", "manage.py", "shell", "-c", query]
        shell_env = {**env, "DEBUG": "true"}

        def first_run() -> list[str]:
            out = subprocess.run(shell, cwd=ROOT, env=shell_env, capture_output=True, text=True)
            return out.stdout.strip().splitlines()[-1].split() if out.stdout.strip() else []

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and first_run()[:1] != ["done"]:
            time.sleep(1)
        state, received, expected = first_run()
        assert state == "done", log_path.read_text()
        assert int(received) == int(expected) > 60
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
