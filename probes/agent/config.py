"""The agent's configuration, from the environment only."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import protocol


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class AgentConfig:
    broker_url: str
    broker_folder: str | None  # for the embedded filesystem broker only
    host: str
    secret: str
    heartbeat_seconds: float
    jobs: int | None
    dispatch_max_age: float  # a dispatch older than this is refused as a replay

    def __repr__(self) -> str:  # never print the secret
        return f"AgentConfig(host={self.host!r}, broker_url={self.broker_url!r})"


def from_env(env: dict[str, str] | os._Environ = os.environ) -> AgentConfig:
    broker = env.get("AGENT_BROKER_URL") or env.get("CELERY_BROKER_URL")
    if not broker:
        raise ConfigError("set AGENT_BROKER_URL (or CELERY_BROKER_URL) to the broker's URL")
    host = env.get("AGENT_HOST", "")
    try:
        protocol.host_queue(host)
    except ValueError as err:
        raise ConfigError(f"AGENT_HOST: {err}") from None
    secret = env.get("AGENT_SECRET", "")
    if not secret and env.get("AGENT_SECRET_FILE"):
        try:
            secret = Path(env["AGENT_SECRET_FILE"]).read_text().strip()
        except OSError as err:
            raise ConfigError(f"AGENT_SECRET_FILE: {err.strerror}") from None
    if not secret:
        raise ConfigError("set AGENT_SECRET or AGENT_SECRET_FILE to the host's secret")
    try:
        heartbeat = float(env.get("AGENT_HEARTBEAT_SECONDS", "30"))
        jobs = int(env["AGENT_JOBS"]) if env.get("AGENT_JOBS") else None
        max_age = float(env.get("AGENT_DISPATCH_MAX_AGE", str(24 * 3600)))
    except ValueError as err:
        raise ConfigError(f"bad number in the agent's environment: {err}") from None
    folder = env.get("AGENT_BROKER_FOLDER")
    if broker.startswith("filesystem://") and not folder:
        raise ConfigError("the embedded filesystem broker needs AGENT_BROKER_FOLDER (var/broker)")
    return AgentConfig(broker, folder, host, secret, heartbeat, jobs, max_age)
