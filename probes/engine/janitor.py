"""The post-run janitor: find what probes left on the host, remove it, and say so.

The runner removes what each probe registered; the janitor is the net
under that net. It looks for the things a probe could leave whatever it
registered (catalogue sections 7 and 8):

- ``probe_*`` cgroup directories in every mounted hierarchy (v1 and v2);
- swap areas, mounts and files under ``/tmp/probe_*``;
- ``probe_*`` named network namespaces under /run/netns;
- ``name=probe*`` v1 hierarchies still listed in /proc/self/cgroup: a v1
  hierarchy is only destroyed when it is unmounted with no child cgroup,
  dying ones included, so one unmounted a moment too early lingers. The fix
  is to mount it again with the same options and unmount it (done in a
  forked child inside a private mount namespace, so nothing propagates);
- controllers that a run bound to a v1 hierarchy (hierarchy id no longer
  0 in /proc/cgroups), fixed the same way, and ``vm.nr_hugepages`` changed
  during the run (both need the ``Baseline`` taken before the run).

Only things a finished probe could own are touched: every probe name ends
in the pid of the probe process that made it (``ctx.name()``), and names
whose process is still alive belong to a probe running now (perhaps in
another runner) and are left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from . import cgroupfs, cleanup
from .kernelfiles import read_text
from .process import Child
from .syscalls import CLONE_NEWNS, make_mounts_private, mount, syscall, umount, unshare

PREFIX = "probe_"
TMP = "/tmp"
NETNS_DIR = "/run/netns"
RECLAIM_BUDGET = 2.0  # seconds to wait for a lingering v1 hierarchy's dying children

Finding = dict[str, Any]


@dataclass(frozen=True)
class Baseline:
    """Host state before a run, for the checks that need a before and after."""

    hierarchies: dict[str, int]  # controller -> hierarchy id in /proc/cgroups
    nr_hugepages: str | None


def baseline() -> Baseline:
    return Baseline(_proc_cgroups(), read_text("/proc/sys/vm/nr_hugepages"))


def sweep(before: Baseline | None = None) -> list[Finding]:
    """Remove every leftover found; return one finding per thing (empty when clean).

    A finding is ``{"kind", "what", "fixed", "detail"}``; ``fixed`` is False
    when the leftover could not be removed (the detail says why).
    """
    findings: list[Finding] = []
    findings += _swaps()
    findings += _tmp_entries()
    findings += _cgroup_dirs()
    findings += _netns()
    findings += _named_hierarchies()
    if before is not None:
        findings += _rebound_controllers(before)
        findings += _hugepages(before)
    return findings


def owner_alive(name: str) -> bool:
    """Whether the process whose pid ends ``name`` still exists (pid 1 never owns one)."""
    match = re.search(r"(\d+)$", name)
    if not match:
        return False
    pid = int(match.group(1))
    return pid > 1 and os.path.exists(f"/proc/{pid}")


def _finding(kind: str, what: str, problem: str | None, detail: str) -> Finding:
    if problem:
        return {"kind": kind, "what": what, "fixed": False, "detail": problem}
    return {"kind": kind, "what": what, "fixed": True, "detail": detail}


# -- swap, /tmp, netns ------------------------------------------------------------------------


def _swaps() -> list[Finding]:
    found = []
    lines: list[str] = []
    with contextlib.suppress(OSError), open("/proc/swaps") as f:
        lines = f.readlines()[1:]  # the first line is a header
    for line in lines:
        path = _unescape(line.split()[0]) if line.split() else ""
        if not path.startswith(os.path.join(TMP, PREFIX)):
            continue
        top = path[len(TMP) + 1 :].split("/", 1)[0]
        if owner_alive(top):
            continue
        problem = None
        try:
            syscall("swapoff", path)
        except OSError as err:
            problem = f"swapoff {path}: {err.strerror}"
        found.append(_finding("swap", path, problem, "active swap area swapped off"))
    return found


def _tmp_entries() -> list[Finding]:
    """``/tmp/probe_*``: private v1 hierarchies emptied, mounts detached, then removed."""
    found = []
    try:
        names = sorted(n for n in os.listdir(TMP) if n.startswith(PREFIX))
    except OSError:
        return found
    for name in names:
        if owner_alive(name):
            continue
        path = os.path.join(TMP, name)
        mounted = [
            (point, fstype)
            for point, fstype, _ in _mounts()
            if point == path or point.startswith(path + "/")
        ]
        for point, fstype in mounted:
            if fstype == "cgroup":  # a private hierarchy: empty it or it lingers after umount
                for child in _subdirs(point):
                    with contextlib.suppress(OSError):
                        cgroupfs.remove(child, timeout=2.0)
        what = f"{len(mounted)} mount(s) under it" if mounted else "a leftover"
        found.append(_finding("path", path, cleanup.remove("path", path), f"removed {what}"))
    return found


def _netns() -> list[Finding]:
    found = []
    try:
        names = sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(PREFIX))
    except OSError:
        return found
    for name in names:
        if owner_alive(name):
            continue
        path = os.path.join(NETNS_DIR, name)
        problem = None
        try:
            with contextlib.suppress(OSError):
                umount(path)
            os.unlink(path)
        except OSError as err:
            problem = f"could not remove {path}: {err.strerror}"
        found.append(_finding("netns", path, problem, "named network namespace removed"))
    return found


# -- cgroups ----------------------------------------------------------------------------------


def _cgroup_dirs() -> list[Finding]:
    """``probe_*`` directories anywhere in every mounted hierarchy (each hierarchy once)."""
    found = []
    seen: set[str] = set()
    for point, fstype, device in _mounts():
        if fstype not in ("cgroup", "cgroup2") or device in seen:
            continue
        if point.startswith(os.path.join(TMP, PREFIX)):
            continue  # a probe's private hierarchy: see _tmp_entries
        seen.add(device)
        for path in _probe_cgroups(point):
            if owner_alive(os.path.basename(path)):
                continue
            problem = None
            try:
                cgroupfs.remove(path, timeout=2.0)
            except OSError as err:
                problem = f"could not remove cgroup {path}: {err.strerror}"
            found.append(_finding("cgroup", path, problem, "cgroup removed"))
    return found


def _probe_cgroups(root: str) -> list[str]:
    """Directories named probe_* under ``root``; their own subtrees are not searched."""
    hits = []
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                    if entry.name.startswith(PREFIX):
                        hits.append(entry.path)
                    else:
                        stack.append(entry.path)
        except OSError:
            continue
    return hits


def _named_hierarchies() -> list[Finding]:
    found = []
    for name in _lingering_named():
        if owner_alive(name):
            continue
        problem = _reclaim(f"none,name={name}", lambda n=name: n in _lingering_named())
        found.append(
            _finding(
                "v1-hierarchy",
                f"name={name}",
                problem,
                "lingering v1 hierarchy remounted and unmounted",
            )
        )
    return found


def _lingering_named() -> list[str]:
    names = []
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as f:
        for line in f:
            controllers = line.split(":", 2)[1] if line.count(":") >= 2 else ""
            names += [c[5:] for c in controllers.split(",") if c.startswith("name=" + PREFIX[:-1])]
    return names


def _rebound_controllers(before: Baseline) -> list[Finding]:
    """Controllers unbound before the run and bound to a hierarchy nobody mounts now."""
    now = _proc_cgroups()
    mounted = {
        opt for _, fstype, opts in _mounts(options=True) if fstype == "cgroup" for opt in opts
    }
    groups: dict[int, list[str]] = {}
    for controller, hierarchy in now.items():
        if hierarchy and before.hierarchies.get(controller) == 0 and controller not in mounted:
            groups.setdefault(hierarchy, []).append(controller)
    found = []
    for hierarchy, controllers in sorted(groups.items()):
        options = ",".join(sorted(controllers))  # "none" only goes with name=
        first = controllers[0]
        problem = _reclaim(
            options, lambda c=first, h=hierarchy: _proc_cgroups().get(c) == h, only_dead_probes=True
        )
        found.append(
            _finding(
                "v1-hierarchy", options, problem, f"controllers released from hierarchy {hierarchy}"
            )
        )
    return found


def _reclaim(options: str, lingering: Any, only_dead_probes: bool = False) -> str | None:
    """Mount a lingering v1 hierarchy again, empty it, unmount it, until it is gone."""
    scratch = os.path.join(TMP, f"{PREFIX}janitor_{os.getpid()}")
    deadline = time.monotonic() + RECLAIM_BUDGET
    last = "still listed"
    try:
        os.makedirs(scratch, exist_ok=True)
        while lingering():
            child = Child(lambda: _remount_and_release(scratch, options, only_dead_probes))
            try:
                in_use = child.result(timeout=RECLAIM_BUDGET)
                if in_use:  # not ours to remove: waiting will not help
                    return (
                        f"v1 hierarchy {options} still holds {in_use} cgroup(s) that no "
                        "finished probe owns"
                    )
            except OSError as err:
                last = f"mount -o {options}: {err.strerror}"
            except Exception as err:  # noqa: BLE001 - reported, never raised
                last = str(err)
            finally:
                child.finish()
            if not lingering():
                break
            if time.monotonic() > deadline:
                return f"v1 hierarchy {options} still present after {RECLAIM_BUDGET:.0f} s ({last})"
            time.sleep(0.05)  # dying child cgroups are freed after an RCU grace period
    except OSError as err:
        return f"could not reclaim v1 hierarchy {options}: {err.strerror}"
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(scratch)
    return None


def _remount_and_release(point: str, options: str, only_dead_probes: bool) -> int:  # child
    """In a forked child: mount, remove the (dead probes') cgroups, unmount.

    Returns how many child cgroups were left because they are not ours to remove.
    """
    unshare(CLONE_NEWNS)
    make_mounts_private()
    mount("cgroup", point, "cgroup", 0, options)
    kept = 0
    try:
        for child in _subdirs(point):
            name = os.path.basename(child)
            if only_dead_probes and (not name.startswith(PREFIX) or owner_alive(name)):
                kept += 1
                continue
            with contextlib.suppress(OSError):
                cgroupfs.remove(child, timeout=2.0)
    finally:
        umount(point, 0)
    return kept


def _hugepages(before: Baseline) -> list[Finding]:
    now = read_text("/proc/sys/vm/nr_hugepages")
    if before.nr_hugepages is None or now == before.nr_hugepages:
        return []
    problem = None
    try:
        with open("/proc/sys/vm/nr_hugepages", "w") as f:
            f.write(before.nr_hugepages)
    except OSError as err:
        problem = f"could not restore vm.nr_hugepages {before.nr_hugepages}: {err.strerror}"
    return [
        _finding(
            "sysctl", "vm.nr_hugepages", problem, f"restored {before.nr_hugepages} (found {now})"
        )
    ]


# -- reading ----------------------------------------------------------------------------------


def _proc_cgroups() -> dict[str, int]:
    rows = {}
    with contextlib.suppress(OSError), open("/proc/cgroups") as f:
        for line in f:
            parts = line.split()
            if parts and not line.startswith("#") and len(parts) >= 2:
                rows[parts[0]] = int(parts[1])
    return rows


def _mounts(options: bool = False) -> list[tuple[str, str, Any]]:
    """(mount point, fs type, device or super options) for every line of mountinfo."""
    rows = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) < 5 or len(tail) < 3:
                continue
            extra = set(tail[2].split(",")) if options else fields[2]
            rows.append((_unescape(fields[4]), tail[0], extra))
    return rows


def _subdirs(path: str) -> list[str]:
    with contextlib.suppress(OSError), os.scandir(path) as entries:
        return [e.path for e in entries if e.is_dir(follow_symlinks=False)]
    return []


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)
