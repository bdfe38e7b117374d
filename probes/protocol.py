"""The wire protocol between the server and the agents: one place for it.

Queue names, task names and the signed envelope. Everything an agent sends,
and every dispatch the server sends to an agent, is an envelope:

    {"host": NAME, "kind": KIND, "ts": UNIX_SECONDS, "msg_id": UUID4_HEX,
     "body": {...}, "sig": HEX(HMAC-SHA256(secret, canonical(all but sig)))}

The receiver finds the secret by ``host`` (the key id) and checks the
signature, the kind and the timestamp before it looks at ``body``. Pure
Python: both the agent (no Django) and the server import it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
import uuid
from typing import Any

CENTRAL_QUEUE = "central"
HOST_QUEUE_PREFIX = "host."

# Task names are a wire protocol: never rename one without a transition.
TASK_INGEST = "probes.ingest"  # central queue: every envelope from an agent
TASK_RUN_SUITE = "agent.run_suite"  # host queue: a signed dispatch
TASK_REAP = "probes.reap_lost_runs"  # beat
TASK_SCHEDULE = "probes.schedule_suites"  # beat

# Kinds: what the agent sends, and what the server dispatches.
KIND_HEARTBEAT = "heartbeat"
KIND_RUN_STARTED = "run_started"
KIND_RESULT = "result"
KIND_RUN_FINISHED = "run_finished"
KIND_RUN_REJECTED = "run_rejected"
KIND_IMPORT = "import"  # an offline host's whole `run --json` document
KIND_DISPATCH = "dispatch"  # server -> agent
AGENT_KINDS = frozenset(
    {KIND_HEARTBEAT, KIND_RUN_STARTED, KIND_RESULT, KIND_RUN_FINISHED, KIND_RUN_REJECTED}
)

# Reliability contract: every task's hard time limit stays below the broker's
# visibility timeout, so a task still running is never handed to a second worker.
VISIBILITY_TIMEOUT = 7200
RUN_SUITE_LIMITS = {"soft_time_limit": 1500, "time_limit": 1800}


def broker_transport_options(broker_url: str, folder: str | None) -> dict[str, Any]:
    """Transport options for the broker: the embedded filesystem broker keeps its
    messages under ``folder`` (shared by every process on the machine); Redis
    redelivers unacknowledged tasks only after the visibility timeout."""
    if broker_url.startswith("filesystem://"):
        if not folder:
            raise ValueError("the filesystem broker needs a folder")
        for sub in ("queue", "processed", "control"):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
        queue = os.path.join(folder, "queue")
        return {
            "data_folder_in": queue,
            "data_folder_out": queue,
            "processed_folder": os.path.join(folder, "processed"),
            "control_folder": os.path.join(folder, "control"),  # exchange bindings
            "store_processed": False,
        }
    return {"visibility_timeout": VISIBILITY_TIMEOUT}


MAX_SKEW_SECONDS = 300  # older or newer envelopes are refused as replays
HOST_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class BadEnvelope(ValueError):
    """An envelope that must not be trusted; the message says why (never the secret)."""


def host_queue(name: str) -> str:
    if not HOST_NAME.match(name):
        raise ValueError(f"bad host name {name!r}: lower-case letters, digits and dashes")
    return HOST_QUEUE_PREFIX + name


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _mac(secret: str, unsigned: dict[str, Any]) -> str:
    return hmac.new(secret.encode(), canonical(unsigned), hashlib.sha256).hexdigest()


def seal(
    host: str, kind: str, body: dict[str, Any], secret: str, *, now: float | None = None
) -> dict[str, Any]:
    envelope = {
        "host": host,
        "kind": kind,
        "ts": int(now if now is not None else time.time()),
        "msg_id": uuid.uuid4().hex,
        "body": body,
    }
    envelope["sig"] = _mac(secret, envelope)
    return envelope


def host_of(envelope: Any) -> str:
    """The key id, checked for shape only: look the secret up by it, then ``open_``."""
    if not isinstance(envelope, dict):
        raise BadEnvelope("not a signed envelope (expected a JSON object)")
    host = envelope.get("host")
    if not isinstance(host, str) or not HOST_NAME.match(host):
        raise BadEnvelope("envelope names no valid host")
    return host


def open_(
    envelope: dict[str, Any],
    secret: str,
    kinds: frozenset[str] | set[str],
    *,
    now: float | None = None,
    max_skew: float | None = MAX_SKEW_SECONDS,
) -> dict[str, Any]:
    """Verify an envelope; return it when it is authentic, fresh and of an expected kind.

    ``max_skew=None`` skips the freshness check: an offline import is old by
    nature and is made idempotent by its digest instead.
    """
    host_of(envelope)
    missing = {"kind", "ts", "msg_id", "body", "sig"} - envelope.keys()
    if missing:
        raise BadEnvelope(f"envelope lacks {', '.join(sorted(missing))}")
    unsigned = {k: v for k, v in envelope.items() if k != "sig"}
    sig = envelope["sig"]
    # compare_digest refuses non-ASCII text with a TypeError: such a signature is just bad.
    if (
        not isinstance(sig, str)
        or not sig.isascii()
        or not hmac.compare_digest(_mac(secret, unsigned), sig)
    ):
        raise BadEnvelope("bad signature")
    if envelope["kind"] not in kinds:
        raise BadEnvelope(f"unexpected kind {envelope['kind']!r}")
    if not isinstance(envelope["ts"], int) or not isinstance(envelope["body"], dict):
        raise BadEnvelope("malformed envelope")
    if not isinstance(envelope["msg_id"], str) or not re.fullmatch(
        r"[0-9a-f]{32}", envelope["msg_id"]
    ):
        raise BadEnvelope("malformed message id")
    age = (now if now is not None else time.time()) - envelope["ts"]
    if max_skew is not None and abs(age) > max_skew:
        raise BadEnvelope(f"timestamp {int(age)} s away from now: refused as a replay")
    return envelope
