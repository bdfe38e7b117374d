"""The engine imports in a fresh interpreter without Django, Celery or any other third party."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ENGINE_MODULES = (
    "probes.engine",
    "probes.engine.catalogue",
    "probes.engine.channel",
    "probes.engine.cleanup",
    "probes.engine.cli",
    "probes.engine.context",
    "probes.engine.facts",
    "probes.engine.janitor",
    "probes.engine.kconfig",
    "probes.engine.process",
    "probes.engine.results",
    "probes.engine.runner",
    "probes.engine.syscalls",
    "probes.engine.verdicts",
)

SCRIPT = f"""
import json, sys, sysconfig
before = set(sys.modules)  # what the interpreter and site (.pth files) loaded already
for name in {ENGINE_MODULES!r}:
    __import__(name)
from probes.engine import catalogue
catalogue.load()
site = (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])
third_party = sorted(
    name.split(".")[0] for name, module in list(sys.modules.items())
    if name not in before and (getattr(module, "__file__", None) or "").startswith(site)
)
print(json.dumps({{"modules": sorted(sys.modules), "third_party": sorted(set(third_party)),
                   "probes": len(catalogue.CATALOGUE)}}))
"""


def test_the_engine_imports_without_django_or_celery():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    forbidden = [
        m
        for m in report["modules"]
        if m.split(".")[0] in {"django", "celery", "kombu", "rest_framework"}
    ]
    assert forbidden == []
    assert set(report["third_party"]) <= {"psutil"}  # the standard library and psutil only
    assert report["probes"] > 0


def test_the_command_line_never_imports_django_or_celery():
    # Django is importable in this venv; `python -m probes.engine list` must not touch it.
    script = (
        "import runpy, sys; sys.argv = ['probes.engine', 'list', '--json'];\n"
        "try:\n    runpy.run_module('probes.engine', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'celery')]\n"
        "sys.stderr.write(repr(bad)); sys.exit(code or (1 if bad else 0))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stderr.strip().endswith("[]")
