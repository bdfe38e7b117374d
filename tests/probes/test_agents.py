"""Agents as real Celery workers on this machine, through a real Redis.

Each test starts real processes: the central worker (Django, the test
database) and agents (no Django, no database) that run the real engine.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from datetime import datetime

import pytest

from probes.models import Host, ProbeResult, ProbeRun
from probes.services import hosts, runs

from .conftest import point_central_app_at, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="agents run the probe engine as root")


def fresh(run: ProbeRun) -> ProbeRun:
    return ProbeRun.objects.get(pk=run.pk)


def test_it_sends_a_run_only_to_its_host_and_stores_each_result_once(workers, catalogue_rows):
    alpha, beta = hosts.host_enroll("alpha"), hosts.host_enroll("beta")
    workers.central()
    workers.agent(alpha)
    workers.agent(beta)
    wait_for(lambda: Host.objects.filter(state="active").count() == 2, 60, "both heartbeats")

    run = runs.run_dispatch(alpha, only=["ns.*", "keys.basic"])
    wait_for(lambda: fresh(run).state == "done", 60, "the run to finish")

    run = fresh(run)
    assert run.received == run.expected == len(run.probe_ids)
    assert run.kernel.release == os.uname().release
    stored = ProbeResult.objects.filter(run=run)
    assert stored.count() == run.expected
    assert set(stored.values_list("host__name", flat=True)) == {"alpha"}
    assert "Task agent.run_suite[" in workers.log("agent-alpha.log")
    assert "Task agent.run_suite[" not in workers.log("agent-beta.log")


def test_it_never_leaves_a_run_running_when_its_agent_is_killed(workers, catalogue_rows, settings):
    settings.RUN_GRACE_SECONDS = 3  # the deadline the dispatcher sets
    workers.env["RUN_GRACE_SECONDS"] = "3"  # and the one the central worker extends
    workers.env["AGENT_JOBS"] = "1"  # one probe at a time: the kill lands mid-run
    alpha = hosts.host_enroll("alpha")
    workers.central()
    agent = workers.agent(alpha)
    wait_for(lambda: Host.objects.filter(state="active").exists(), 60, "the heartbeat")

    # Probes of 0.1-0.2 s each (freezers, nesting), none with a long deadline.
    run = runs.run_dispatch(alpha, only=["cg.*", "cr.ckpt.*", "cr.mem.*", "ns.pid.*"])
    wait_for(lambda: fresh(run).received >= 2, 60, "the first results")
    os.killpg(agent.pid, signal.SIGKILL)
    agent.wait(10)

    def settled():
        runs.runs_reap_lost()
        return fresh(run).state in ("done", "lost")

    wait_for(settled, 90, "the run to end done or lost")
    run = fresh(run)
    stored = ProbeResult.objects.filter(run=run)
    assert stored.count() == run.received
    assert stored.values("probe_id").distinct().count() == stored.count()


_SENT = re.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+).*run (\d+): sent (\S+)")


def _reported_since(log: str, run_id: int, since: datetime) -> set[str]:
    """Probe ids the agent's log says it sent for ``run_id`` after ``since``."""
    found = set()
    for line in log.splitlines():
        match = _SENT.match(line)
        if not match or int(match[2]) != run_id:
            continue
        if datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f") > since:
            found.add(match[3])
    return found


def _private_redis(port: int, tmp) -> subprocess.Popen:
    return subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
def test_it_loses_nothing_reported_after_a_broker_restart(
    workers, catalogue_rows, tmp_path, settings
):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    broker = _private_redis(port, tmp_path)
    try:
        settings.CELERY_BROKER_URL = url
        point_central_app_at(url)
        workers.env["CELERY_BROKER_URL"] = url
        workers.env["AGENT_JOBS"] = "1"  # a slower run, so the restart lands in its middle
        alpha = hosts.host_enroll("alpha")
        workers.central()
        workers.agent(alpha)
        wait_for(lambda: Host.objects.filter(state="active").exists(), 60, "the heartbeat")

        run = runs.run_dispatch(alpha)
        wait_for(lambda: fresh(run).received >= 2, 60, "the first results")
        broker.kill()
        broker.wait(10)
        broker = _private_redis(port, tmp_path)
        restarted = datetime.now()
        time.sleep(0.5)

        wait_for(lambda: "results sent" in workers.log("agent-alpha.log"), 120, "the run to end")
        after = _reported_since(workers.log("agent-alpha.log"), run.pk, restarted)
        assert after, "the restart should land before the run's last result"

        def stored() -> set[str]:
            return set(ProbeResult.objects.filter(run=run).values_list("probe_id", flat=True))

        wait_for(lambda: after <= stored(), 60, "every result reported after the restart")

        # And both workers keep consuming without a manual restart.
        second = runs.run_dispatch(alpha, only=["ns.uts.*"])
        wait_for(lambda: fresh(second).state == "done", 90, "a run after the restart")
    finally:
        broker.kill()
        broker.wait(10)
