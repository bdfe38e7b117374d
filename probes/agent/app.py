"""The agent's Celery app and its one task, ``agent.run_suite``.

Start it with ``python -m probes.agent worker`` (see ``__main__``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading

from celery import Celery, signals
from kombu import Queue

from .. import protocol
from ..engine import catalogue, facts
from ..engine.syscalls import PR_SET_PDEATHSIG, prctl
from .config import from_env

log = logging.getLogger("probes.agent")
config = from_env()

app = Celery("agent", broker=config.broker_url)
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_queues=[Queue(protocol.host_queue(config.host))],
    task_default_queue=protocol.host_queue(config.host),
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,  # keep reconnecting after a broker restart
    broker_transport_options=protocol.broker_transport_options(
        config.broker_url, config.broker_folder
    ),
    # A result published while the broker restarts is retried, not dropped.
    task_publish_retry_policy={
        "max_retries": 60,
        "interval_start": 0.2,
        "interval_step": 0.5,
        "interval_max": 2,
    },
    worker_hijack_root_logger=False,
)


def send(kind: str, body: dict) -> None:
    envelope = protocol.seal(config.host, kind, body, config.secret)
    app.send_task(protocol.TASK_INGEST, args=[envelope], queue=protocol.CENTRAL_QUEUE, retry=True)


class DispatchRefused(ValueError):
    pass


def _checked_probe_ids(body: dict) -> tuple[list[str], bool]:
    ids, intrusive = body.get("probe_ids"), body.get("intrusive", False)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise DispatchRefused("probe_ids must be a non-empty list of probe ids")
    known = catalogue.load()
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise DispatchRefused(f"not catalogue probes: {', '.join(unknown[:5])}")
    if not isinstance(intrusive, bool):
        raise DispatchRefused("intrusive must be true or false")
    if not intrusive and any(known[i].intrusive for i in ids):
        raise DispatchRefused("intrusive probes in a run not marked intrusive")
    return ids, intrusive


def _engine_command(ids: list[str], intrusive: bool) -> list[str]:
    # Ids are catalogue ids checked above; each is passed as one exact --only value.
    command = [sys.executable, "-m", "probes.engine", "run", "--stream"]
    for probe_id in ids:
        command += ["--only", probe_id]
    if intrusive:
        command.append("--intrusive")
    if config.jobs:
        command += ["--jobs", str(config.jobs)]
    return command


# run_suite is idempotent on the server (one result per run and probe), so it may
# be redelivered after a lost worker.
@app.task(
    name=protocol.TASK_RUN_SUITE,
    acks_late=True,
    reject_on_worker_lost=True,
    **protocol.RUN_SUITE_LIMITS,
)
def run_suite(envelope: dict) -> int:
    """Verify a signed dispatch, run its probes, stream each result as it finishes."""
    try:
        if protocol.host_of(envelope) != config.host:
            raise protocol.BadEnvelope("dispatch for another host")
        protocol.open_(
            envelope, config.secret, {protocol.KIND_DISPATCH}, max_skew=config.dispatch_max_age
        )
    except protocol.BadEnvelope as err:
        log.warning("refused a dispatch: %s", err)  # unsigned: nothing to answer to
        return 0
    body = envelope["body"]
    run_id = body.get("run_id")
    try:
        ids, intrusive = _checked_probe_ids(body)
    except DispatchRefused as err:
        log.warning("refused run %s: %s", run_id, err)
        send(protocol.KIND_RUN_REJECTED, {"run_id": run_id, "reason": str(err)})
        return 0
    release = os.uname().release
    send(protocol.KIND_RUN_STARTED, {"run_id": run_id, "kernel_release": release})
    sent = 0
    with subprocess.Popen(
        _engine_command(ids, intrusive),
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: prctl(PR_SET_PDEATHSIG, signal.SIGKILL),  # dies with the agent
    ) as engine:
        for line in engine.stdout:
            record = json.loads(line)
            if "probe_id" in record:
                send(
                    protocol.KIND_RESULT,
                    {"run_id": run_id, "kernel_release": release, "result": record},
                )
                sent += 1
                log.info("run %s: sent %s (%s)", run_id, record["probe_id"], record["status"])
    send(protocol.KIND_RUN_FINISHED, {"run_id": run_id, "sent": sent})
    log.info("run %s: %d results sent", run_id, sent)
    return sent


def _heartbeat_loop(stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            send(protocol.KIND_HEARTBEAT, {"facts": facts.collect()})
        except Exception:  # noqa: BLE001 - a missed beat must not end the loop
            log.exception("heartbeat failed; retrying in %s s", config.heartbeat_seconds)
        stop.wait(config.heartbeat_seconds)


_stop_heartbeat = threading.Event()


@signals.worker_ready.connect
def _start_heartbeat(**_: object) -> None:
    threading.Thread(
        target=_heartbeat_loop, args=(_stop_heartbeat,), daemon=True, name="heartbeat"
    ).start()


@signals.worker_shutdown.connect
def _stop(**_: object) -> None:
    _stop_heartbeat.set()
