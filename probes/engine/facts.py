"""Host facts: what a result needs beside it to be read later (kernel, layout, privilege, tools).

``collect()`` returns one JSON-able dict. It is sent with every run (the
``facts`` of ``run --json``) and by the agent's heartbeat, and it explains
results: a ``disabled`` next to ``user.max_net_namespaces = 0``, a
``denied`` next to a missing capability, an ``unsupported`` next to a
controller bound to a v1 hierarchy. Every fact that cannot be read is
``None`` rather than an exception: facts never stop a run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import socket
import subprocess
import time
from typing import Any

import psutil

from . import kconfig
from .kernelfiles import read_text

# Capability numbers (linux/capability.h); bits past the end are named cap_<n>.
CAPABILITIES = tuple(
    [
        "chown",
        "dac_override",
        "dac_read_search",
        "fowner",
        "fsetid",
        "kill",
        "setgid",
        "setuid",
        "setpcap",
        "linux_immutable",
        "net_bind_service",
        "net_broadcast",
        "net_admin",
        "net_raw",
        "ipc_lock",
        "ipc_owner",
        "sys_module",
        "sys_rawio",
        "sys_chroot",
        "sys_ptrace",
        "sys_pacct",
        "sys_admin",
        "sys_boot",
        "sys_nice",
        "sys_resource",
        "sys_time",
        "sys_tty_config",
        "mknod",
        "lease",
        "audit_write",
        "audit_control",
        "setfcap",
        "mac_override",
        "mac_admin",
        "syslog",
        "wake_alarm",
        "block_suspend",
        "audit_read",
        "perfmon",
        "bpf",
        "checkpoint_restore",
    ]
)

# Tools whose versions explain `skipped` results: argv that prints the version.
TOOLS: dict[str, tuple[str, ...]] = {
    "criu": ("criu", "--version"),
    "unshare": ("unshare", "--version"),
    "nsenter": ("nsenter", "--version"),
    "lsns": ("lsns", "--version"),
    "setpriv": ("setpriv", "--version"),
    "mkswap": ("mkswap", "--version"),
    "ip": ("ip", "-V"),
}
TOOL_TIMEOUT = 3.0  # seconds; a tool that hangs on --version reports None

# Policy knobs that turn EPERM into `disabled` (catalogue section 1) or explain `denied`.
POLICY_SYSCTLS = (
    "kernel.unprivileged_userns_clone",
    "kernel.apparmor_restrict_unprivileged_userns",
    "vm.unprivileged_userfaultfd",
    "kernel.perf_event_paranoid",
    "kernel.yama.ptrace_scope",
    "kernel.unprivileged_bpf_disabled",
    "kernel.pid_max",
    "kernel.cap_last_cap",
    "vm.nr_hugepages",
)

_VERSION = re.compile(r"\d+(?:\.\d+)+")


def collect(kernel_config: kconfig.KernelConfig | None = None) -> dict[str, Any]:
    """Every host fact as one JSON-able dict (``kernel_config`` avoids reading it twice)."""
    tools = _start_tools()  # they run while the rest is read
    uname = os.uname()
    config = kernel_config if kernel_config is not None else kconfig.read(uname.release)
    return {
        "hostname": socket.gethostname(),
        "kernel": {
            "release": uname.release,
            "version": list(parse_kernel_version(uname.release)),
            "build": uname.version,
        },
        "architecture": uname.machine,
        "distribution": distribution(),
        "python": platform.python_version(),
        "cpus": cpus(),
        "memory": memory(),
        "cgroups": cgroup_layout(),
        "privilege": privilege(),
        "namespace_limits": namespace_limits(),
        "sysctls": {name: _read_sysctl(name) for name in POLICY_SYSCTLS},
        "lsm": read_text("/sys/kernel/security/lsm"),
        "tools": _finish_tools(tools),
        "kernel_config": {"source": config.source},
    }


def parse_kernel_version(release: str) -> tuple[int, ...]:
    """The numeric part of a release, three numbers: "6.18.44-fc-v669" -> (6, 18, 44).

    Missing parts are 0 ("6.1-rc2" -> (6, 1, 0)); an unparsable string gives ().
    """
    match = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", release)
    if not match:
        return ()
    return tuple(int(part or 0) for part in match.groups())


def distribution(path: str = "/etc/os-release") -> dict[str, str] | None:
    """The distribution from os-release (id, name, version_id, pretty_name)."""
    fields: dict[str, str] = {}
    try:
        with open(path) as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep:
                    fields[key] = value.strip().strip("\"'")
    except OSError:
        return None
    wanted = {"ID": "id", "NAME": "name", "VERSION_ID": "version_id", "PRETTY_NAME": "pretty_name"}
    return {short: fields[key] for key, short in wanted.items() if key in fields}


def cpus() -> dict[str, int | None]:
    return {
        "logical": psutil.cpu_count(logical=True),
        "physical": psutil.cpu_count(logical=False),
        "usable": len(os.sched_getaffinity(0)),  # what --jobs defaults to
    }


def memory() -> dict[str, int]:
    virtual = psutil.virtual_memory()
    return {
        "total_bytes": virtual.total,
        "available_bytes": virtual.available,
        "swap_total_bytes": psutil.swap_memory().total,
    }


def cgroup_layout() -> dict[str, Any]:
    """v1 controllers with their hierarchy ids and mounts, the v2 mount and its controllers.

    layout: "hybrid" (v1 controllers and cgroup2 both mounted), "unified"
    (cgroup2 only), "legacy" (v1 only) or "none".
    """
    v1_mounts, v2_mount = _cgroup_mounts()
    controllers: dict[str, dict[str, Any]] = {}
    for name, hierarchy, enabled in _proc_cgroups():
        mount = None
        if hierarchy:
            mount = next((m for m, opts in v1_mounts.items() if name in opts), None)
        controllers[name] = {"hierarchy": hierarchy, "enabled": enabled, "mount": mount}
    named = {}
    for hierarchy, name in _named_hierarchies():
        mount = next((m for m, opts in v1_mounts.items() if f"name={name}" in opts), None)
        named[name] = {"hierarchy": hierarchy, "mount": mount}
    v2 = None
    if v2_mount is not None:
        raw = read_text(os.path.join(v2_mount, "cgroup.controllers"))
        v2 = {"mount": v2_mount, "controllers": raw.split() if raw is not None else None}
    bound_v1 = any(c["mount"] for c in controllers.values())
    if bound_v1 and v2 is not None:
        layout = "hybrid"
    elif v2 is not None:
        layout = "unified"
    elif bound_v1 or named:
        layout = "legacy"
    else:
        layout = "none"
    return {"layout": layout, "v1": controllers, "v1_named": named, "v2": v2}


def _cgroup_mounts() -> tuple[dict[str, set[str]], str | None]:
    """v1 mount points with their super options, and the first cgroup2 mount point."""
    v1: dict[str, set[str]] = {}
    v2 = None
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.readlines()
    except OSError:
        return v1, v2
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        point = _unescape(fields[4])
        if tail[0] == "cgroup2" and v2 is None:
            v2 = point
        elif tail[0] == "cgroup":
            v1.setdefault(point, set(tail[2].split(",")))
    return v1, v2


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _proc_cgroups() -> list[tuple[str, int, bool]]:
    rows = []
    with contextlib.suppress(OSError), open("/proc/cgroups") as f:
        for line in f:
            if line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) >= 4:
                rows.append((parts[0], int(parts[1]), parts[3] == "1"))
    return rows


def _named_hierarchies() -> list[tuple[int, str]]:
    """Named v1 hierarchies (``name=...``) this process belongs to."""
    named = []
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as f:
        for line in f:
            hierarchy, controllers, _ = line.rstrip("\n").split(":", 2)
            for part in controllers.split(","):
                if part.startswith("name="):
                    named.append((int(hierarchy), part[len("name=") :]))
    return named


def privilege() -> dict[str, Any]:
    """euid and capability sets from /proc/self/status, with the missing ones named."""
    status: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    last = _read_int("/proc/sys/kernel/cap_last_cap")
    last = last if last is not None else len(CAPABILITIES) - 1
    effective = int(status.get("CapEff", "0"), 16)
    bounding = int(status.get("CapBnd", "0"), 16)
    return {
        "euid": os.geteuid(),
        "egid": os.getegid(),
        "root": os.geteuid() == 0,
        "cap_effective": status.get("CapEff"),
        "cap_bounding": status.get("CapBnd"),
        "missing_effective": _cap_names(~effective, last),
        "missing_bounding": _cap_names(~bounding, last),
        "no_new_privs": status.get("NoNewPrivs") == "1",
        "seccomp": status.get("Seccomp"),
    }


def _cap_names(mask: int, last: int) -> list[str]:
    return [
        f"cap_{CAPABILITIES[bit]}" if bit < len(CAPABILITIES) else f"cap_{bit}"
        for bit in range(last + 1)
        if mask & (1 << bit)
    ]


def namespace_limits() -> dict[str, int | None]:
    """Every /proc/sys/user/max_*_namespaces value (0 switches that namespace off)."""
    base = "/proc/sys/user"
    try:
        names = sorted(n for n in os.listdir(base) if n.endswith("_namespaces"))
    except OSError:
        return {}
    return {name: _read_int(os.path.join(base, name)) for name in names}


def _read_sysctl(name: str) -> str | None:
    return read_text("/proc/sys/" + name.replace(".", "/"))


def _read_int(path: str) -> int | None:
    text = read_text(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _start_tools() -> dict[str, subprocess.Popen[bytes] | None]:
    """Start every ``--version`` at once: the slowest tool bounds the wait, not their sum."""
    started: dict[str, subprocess.Popen[bytes] | None] = {}
    for name, argv in TOOLS.items():
        path = shutil.which(argv[0]) or shutil.which(argv[0], path="/usr/sbin:/sbin")
        started[name] = None
        if path is None:
            continue
        with contextlib.suppress(OSError):
            started[name] = subprocess.Popen(
                [path, *argv[1:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={**os.environ, "LC_ALL": "C"},
            )
    return started


def _finish_tools(started: dict[str, subprocess.Popen[bytes] | None]) -> dict[str, str | None]:
    """Each tool's version number (None when absent or when it cannot say)."""
    deadline = time.monotonic() + TOOL_TIMEOUT
    versions: dict[str, str | None] = {}
    for name, proc in started.items():
        versions[name] = None
        if proc is None:
            continue
        try:
            out, _ = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            continue
        match = _VERSION.search(out.decode(errors="replace"))
        if proc.returncode == 0 and match:
            versions[name] = match.group(0)
    return versions
