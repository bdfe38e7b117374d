"""Enrolling hosts and taking their heartbeats."""

from __future__ import annotations

import logging
import os
import re
import socket
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import protocol
from ..models import Host, HostState, Kernel, new_host_secret

log = logging.getLogger(__name__)


class HostError(ValueError):
    pass


def host_enroll(name: str, *, allow_intrusive: bool = False) -> Host:
    """Register a host; the caller shows ``host.secret`` once and never again."""
    try:
        protocol.host_queue(name)
    except ValueError as err:
        raise HostError(str(err)) from None
    with transaction.atomic():
        if Host.objects.filter(name=name).exists():
            raise HostError(f"host {name} is already enrolled")
        return Host.objects.create(name=name, allow_intrusive=allow_intrusive)


def release_checked(release: Any) -> str:
    """A kernel release as ``uname -r`` prints it, or ValueError."""
    if not isinstance(release, str) or not release.strip() or len(release) > 128:
        raise ValueError("no valid kernel release")
    return release.strip()


def kernel_for(release: Any) -> Kernel:
    kernel, _ = Kernel.objects.get_or_create(release=release_checked(release))
    return kernel


def host_heartbeat(host: Host, facts: dict[str, Any]) -> Host:
    """Record that ``host`` is alive with these facts; a new kernel shows up as a new Kernel."""
    kernel = kernel_for((facts.get("kernel") or {}).get("release"))
    host.facts = facts
    host.kernel = kernel
    host.last_seen_at = timezone.now()
    fields = ["facts", "kernel", "last_seen_at"]
    if host.state == HostState.PENDING:
        host.state = HostState.ACTIVE
        fields.append("state")
        log.info("host %s is now active (kernel %s)", host.name, kernel.release)
    host.save(update_fields=fields)
    return host


def host_rotate_secret(host: Host) -> Host:
    """Give ``host`` a new secret (the old one stops working at once)."""
    host.secret = new_host_secret()
    host.save(update_fields=["secret"])
    return host


def local_host_name() -> str:
    """This machine's host name, made a valid queue name."""
    name = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-")[:63]
    return name or "local"


def local_agent_ensure(secret_path: Path) -> Host:
    """Enroll this machine for the local agent of ``bin/run`` and keep its secret in a
    0600 file (the one place the secret is kept outside the database)."""
    name = local_host_name()
    host = Host.objects.filter(name=name).first()
    if host is None:
        host = host_enroll(name)
    elif not secret_path.exists() or secret_path.read_text().strip() != host.secret:
        host_rotate_secret(host)
    else:
        return host
    host_secret_write(host, secret_path)
    return host


def host_secret_write(host: Host, path: Path) -> None:
    """Keep ``host``'s secret in a file only its owner can read (for the agent)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(host.secret + "\n")
