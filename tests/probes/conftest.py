"""Real worker processes for the agent tests: a central worker and named agents.

They talk to a real Redis (a database of its own, flushed per test) and to
the test database by name, so tests using them need ``transactional_db``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def _redis():
    import redis

    client = redis.Redis.from_url(TEST_REDIS, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {TEST_REDIS}: agent tests need a real broker")
    return client


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Workers:
    """Starts and stops worker processes; every one is killed at the end of the test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AGENT_", "DJANGO_"))},
            "CELERY_BROKER_URL": TEST_REDIS,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "roadmap.test_settings",
            "PYTHONPATH": str(ROOT),
        }

    def _start(self, argv: list[str], log_name: str, env: dict[str, str]) -> subprocess.Popen:
        log = open(self.tmp / log_name, "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def central(self) -> subprocess.Popen:
        return self._start(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "roadmap.celery",
                "worker",
                "-Q",
                "central",
                "--pool",
                "solo",
                "--without-mingle",
                "--without-gossip",
                "-l",
                "info",
            ],
            "central.log",
            self.env,
        )

    def agent(self, host) -> subprocess.Popen:  # noqa: ANN001 - a probes.models.Host
        env = {
            **self.env,
            "AGENT_HOST": host.name,
            "AGENT_SECRET": host.secret,
            "AGENT_HEARTBEAT_SECONDS": "1",
            "AGENT_JOBS": "2",
        }
        env.pop("DATABASE_URL")  # the agent has no database, and must not need one
        env.pop("DJANGO_SETTINGS_MODULE")
        return self._start(
            [sys.executable, "-m", "probes.agent", "worker", "-l", "info"],
            f"agent-{host.name}.log",
            env,
        )

    def log(self, name: str) -> str:
        return (self.tmp / name).read_text()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


@pytest.fixture
def redis_broker():
    client = _redis()
    client.flushdb()
    yield client
    client.flushdb()


def point_central_app_at(url: str) -> None:
    """Make this (web side) process send its dispatches to ``url``."""
    from roadmap.celery import app

    # broker_write_url is derived from broker_url once, then kept: set all three.
    app.conf.broker_url = app.conf.broker_write_url = app.conf.broker_read_url = url
    # Drop the cached pools (not close: kombu keeps them per URL and reuses them).
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def workers(transactional_db, redis_broker, tmp_path, settings) -> Iterator[Workers]:
    from roadmap.celery import app

    before = app.conf.broker_url
    settings.CELERY_BROKER_URL = TEST_REDIS
    point_central_app_at(TEST_REDIS)
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
        point_central_app_at(before)


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


@pytest.fixture
def catalogue_rows(transactional_db):
    from probes.services.catalogue import catalogue_sync
    from roadmap.services.seed import seed_load

    seed_load()
    catalogue_sync()
