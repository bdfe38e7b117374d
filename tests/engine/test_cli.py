"""The real ``python -m probes.engine`` in a subprocess: list, facts, run, and bad arguments."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from probes.engine import catalogue, janitor
from probes.engine.results import SCHEMA_VERSION, Status

ROOT = Path(__file__).resolve().parents[2]
UTS_GLOB = "ns.uts.*"
STATUS_WORDS = {s.value for s in Status}


def engine(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "probes.engine", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def engine_on_a_terminal(*args: str, env: dict[str, str] | None = None) -> str:
    """Run with stdout and stderr on a pseudo-terminal; return everything it wrote."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "probes.engine", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if select.select([master], [], [], 1)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    assert proc.returncode == 0
    return output.decode(errors="replace")


@pytest.fixture(scope="module")
def uts_probes() -> list[str]:
    catalogue.load()
    try:
        chosen = [p.id for p in catalogue.select([UTS_GLOB])]
    except catalogue.UnknownProbe:
        pytest.skip(f"no {UTS_GLOB} probe in the catalogue yet")
    return chosen


# -- list and facts ---------------------------------------------------------------------------


def test_list_json_describes_every_probe_in_the_catalogue():
    done = engine("list", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == SCHEMA_VERSION
    probes = catalogue.load()
    assert [p["id"] for p in document["probes"]] == list(probes)
    for described in document["probes"]:
        assert described == probes[described["id"]].describe()
        assert described["area"] in catalogue.AREAS


def test_list_prints_every_probe_id_grouped_by_area():
    done = engine("list")
    assert done.returncode == 0, done.stderr
    for probe_id in catalogue.load():
        assert probe_id in done.stdout
    titles = [
        t for a, t in catalogue.AREAS.items() if any(p.area == a for p in catalogue.load().values())
    ]
    positions = [done.stdout.index(t) for t in titles]
    assert positions == sorted(positions)  # areas in roadmap order


def test_facts_json_is_the_host_facts():
    done = engine("facts", "--json")
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["kernel"]["release"] == os.uname().release
    assert facts["privilege"]["euid"] == os.geteuid()
    assert facts["cgroups"]["layout"] in {"hybrid", "unified", "legacy", "none"}


def test_facts_as_text_names_the_kernel_and_layout():
    done = engine("facts")
    assert done.returncode == 0, done.stderr
    assert os.uname().release in done.stdout
    assert "cgroup layout" in done.stdout


# -- run --------------------------------------------------------------------------------------


def test_run_json_is_one_document_with_schema_facts_options_and_results(uts_probes):
    done = engine("run", "--only", UTS_GLOB, "--json", "--jobs", "2", "--timeout", "30")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # one document, nothing else on stdout
    assert document["schema"] == SCHEMA_VERSION
    assert document["generated_at"].endswith("Z")
    datetime.fromisoformat(document["generated_at"].replace("Z", "+00:00"))
    assert document["facts"]["kernel"]["release"] == os.uname().release
    assert document["options"] == {
        "only": [UTS_GLOB],
        "jobs": 2,
        "timeout": 30.0,
        "intrusive": False,
    }
    assert [r["probe_id"] for r in document["results"]] == uts_probes
    for result in document["results"]:
        assert result["status"] in STATUS_WORDS
        assert set(result) >= {"detail", "evidence", "duration_ms", "config"}
    assert isinstance(document["janitor"], list)
    if os.geteuid() == 0:
        assert all(r["status"] == "pass" for r in document["results"]), document["results"]


def test_run_stream_prints_facts_first_then_one_line_per_result(uts_probes):
    done = engine("run", "--only", UTS_GLOB, "--stream")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["schema"] == SCHEMA_VERSION
    assert "facts" in lines[0] and "options" in lines[0]
    assert sorted(r["probe_id"] for r in lines[1:-1]) == sorted(uts_probes)
    assert isinstance(lines[-1]["janitor"], list)
    assert sum(lines[-1]["totals"].values()) == len(uts_probes)


def test_run_prints_a_plain_table_with_status_words_when_not_on_a_terminal(uts_probes):
    done = engine("run", "--only", UTS_GLOB)
    assert done.returncode == 0, done.stderr
    assert "\033[" not in done.stdout + done.stderr  # neither colour nor a progress line
    for probe_id in uts_probes:
        row = next(line for line in done.stdout.splitlines() if probe_id in line)
        assert row.split()[0] in STATUS_WORDS
    assert f"{len(uts_probes)} probe" in done.stdout.splitlines()[-1]


def test_run_on_a_terminal_shows_progress_and_colour(uts_probes):
    output = engine_on_a_terminal("run", "--only", UTS_GLOB)
    assert "\r\033[K[1/" in output  # the live progress line
    table = output.split("\r\033[K")[-1]  # after the progress line was cleared
    assert any(f"m{word} " in table for word in STATUS_WORDS)  # a coloured status word


def test_no_color_keeps_the_words_and_drops_the_colour(uts_probes):
    output = engine_on_a_terminal("run", "--only", UTS_GLOB, env={"NO_COLOR": "1"})
    table = output.split("\r\033[K")[-1]  # after the progress line was cleared
    assert "\033[3" not in table and "\033[1;" not in table
    assert any(f" {word} " in table for word in STATUS_WORDS)


def test_a_glob_matching_only_intrusive_probes_asks_for_intrusive():
    intrusive = [p.id for p in catalogue.load().values() if p.intrusive]
    if not intrusive:
        pytest.skip("no intrusive probe in the catalogue yet")
    done = engine("run", "--only", intrusive[0])
    assert done.returncode == 2
    assert "--intrusive" in done.stderr


# -- bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "--only", "no.such.probe*"], "no probe matches"),
        (["run", "--jobs", "0"], "--jobs"),
        (["run", "--jobs", "two"], "--jobs"),
        (["run", "--timeout", "-1"], "--timeout"),
        (["run", "--timeout", "0"], "--timeout"),
        (["run", "--timeout", "soon"], "--timeout"),
        (["run", "--timeout", "nan"], "--timeout"),
        (["run", "--json", "--stream"], "--stream"),
        (["list", "--only", "nothing.here"], "no probe matches"),
        (["explode"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_line(args, words):
    done = engine(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert words in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the default suite needs root to create things")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_run_stops_and_cleans_up_the_running_probes(sig, code):
    before = {n for n in os.listdir("/tmp") if n.startswith("probe_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "probes.engine", "run", "--json", "--jobs", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # imports done, probes running
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the suite finished before the signal arrived")
    assert proc.returncode == code
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "cleaned up" in err
    assert "Traceback" not in err
    after = {n for n in os.listdir("/tmp") if n.startswith("probe_")}
    # Something a live process owns belongs to another run going on right now.
    assert {n for n in after - before if not janitor.owner_alive(n)} == set()
