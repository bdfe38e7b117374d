"""Cgroup layout discovery and small cgroupfs operations for the task-container probes.

Where each controller lives on this host (/proc/cgroups, /proc/self/mountinfo),
the runner's own cgroup in every hierarchy (/proc/self/cgroup), the
controllers cgroup2 offers, and the operations every probe repeats: create a
registered probe cgroup under the agent's own cgroup, move a child in, enable
a controller for a probe subtree on cgroup2 (and restore it), mount a
throwaway v1 hierarchy and make sure it is really gone afterwards.

Standard library only: layout problems are raised as ``LayoutError``
subclasses and the probe family turns them into verdicts.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from .kernelfiles import write_once as write

PROC_CGROUPS = "/proc/cgroups"
V2 = ""  # key of the cgroup2 (unified) hierarchy in ``membership()``

# /proc/cgroups names the v2 "io" controller after its v1 name.
_V1_NAME = {"io": "blkio"}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
MNT_DETACH = 2


class Registrar(Protocol):
    """What a probe context offers here (kept structural: no engine import)."""

    def name(self, suffix: str = "") -> str: ...

    def register(self, kind: str, path: str) -> None: ...


# --- layout errors -----------------------------------------------------------------------------


class LayoutError(Exception):
    """The host's cgroup layout does not offer what a probe needs."""


class NoController(LayoutError):
    """The controller is not compiled in (absent from /proc/cgroups) or disabled at boot."""


class NotMounted(LayoutError):
    """No mount of the needed hierarchy is visible, or the own cgroup lies outside it."""


class BoundToV1(LayoutError):
    """A v2 controller is held by a v1 hierarchy, so cgroup2 cannot offer it."""

    def __init__(self, controller: str, hierarchy: int) -> None:
        super().__init__(f"{controller} is bound to cgroup v1 hierarchy {hierarchy}")
        self.controller = controller
        self.hierarchy = hierarchy


class NotDelegated(LayoutError):
    """cgroup2 has the controller but the agent's cgroup cannot hand it to children."""


# --- reading the layout ------------------------------------------------------------------------


@dataclass(frozen=True)
class Controller:
    name: str
    hierarchy: int  # 0: not bound to any v1 hierarchy (on cgroup2, or unused)
    num_cgroups: int
    enabled: bool


@dataclass(frozen=True)
class CgroupMount:
    mount_point: str
    root: str  # the hierarchy path mounted there ("/" unless a sub-tree is bind-mounted)
    fstype: str  # "cgroup" or "cgroup2"
    options: frozenset[str]  # super options: controllers, name=..., rw, ...


def controllers() -> dict[str, Controller]:
    """/proc/cgroups as a dict (empty when the kernel has no cgroups at all)."""
    found: dict[str, Controller] = {}
    try:
        with open(PROC_CGROUPS) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return found
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        name, hierarchy, num, enabled = line.split()[:4]
        found[name] = Controller(name, int(hierarchy), int(num), enabled == "1")
    return found


def controller(name: str) -> Controller:
    """One controller's /proc/cgroups row; ``NoController`` when absent or disabled."""
    info = controllers().get(_V1_NAME.get(name, name))
    if info is None:
        raise NoController(f"{name} controller is not in /proc/cgroups (not compiled in)")
    if not info.enabled:
        raise NoController(f"{name} controller is disabled on the kernel command line")
    return info


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounts() -> list[CgroupMount]:
    """Every cgroup and cgroup2 mount visible in this mount namespace."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype = fields[sep + 1]
            if fstype not in ("cgroup", "cgroup2"):
                continue
            found.append(
                CgroupMount(
                    mount_point=_unescape(fields[4]),
                    root=_unescape(fields[3]),
                    fstype=fstype,
                    options=frozenset(fields[sep + 3].split(",")),
                )
            )
    return found


def membership(pid: int | str = "self") -> dict[str, str]:
    """/proc/<pid>/cgroup keyed by controller ("name=x" for named, ``V2`` for cgroup2)."""
    found: dict[str, str] = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, keys, path = line.rstrip("\n").split(":", 2)
            if not keys:
                found[V2] = path
            for key in keys.split(",") if keys else ():
                found[key] = path
    return found


def hierarchy_lines(pid: int | str = "self") -> list[str]:
    with open(f"/proc/{pid}/cgroup") as f:
        return f.read().splitlines()


def cgroup2_mount() -> CgroupMount | None:
    return next((m for m in mounts() if m.fstype == "cgroup2"), None)


def v1_mount(key: str) -> CgroupMount | None:
    """The first v1 mount of the hierarchy holding ``key`` (a controller or "name=x")."""
    key = _V1_NAME.get(key, key)
    return next((m for m in mounts() if m.fstype == "cgroup" and key in m.options), None)


def _inside(mount: CgroupMount, path: str) -> str | None:
    """Where hierarchy path ``path`` appears under ``mount``, if it is visible there."""
    root = mount.root.rstrip("/")
    if path != root and not path.startswith(root + "/"):
        return None
    return os.path.normpath(mount.mount_point + "/" + path[len(root) :])


def own_dir(key: str) -> str:
    """The directory of this process's own cgroup in the hierarchy of ``key``.

    ``key`` is a v1 controller, "name=x", or ``V2`` for cgroup2. Raises
    ``NotMounted`` when the hierarchy is not mounted or the own cgroup is outside
    every visible mount of it.
    """
    key = _V1_NAME.get(key, key)
    path = membership().get(key)
    if key == V2:
        candidates = [m for m in mounts() if m.fstype == "cgroup2"]
        what = "cgroup2"
    else:
        candidates = [m for m in mounts() if m.fstype == "cgroup" and key in m.options]
        what = f"a v1 {key} hierarchy"
    if not candidates:
        raise NotMounted(f"no mount of {what}")
    if path is None:
        raise NotMounted(f"this process is not listed in {what} (/proc/self/cgroup)")
    for mount in candidates:
        found = _inside(mount, path)
        if found is not None:
            return found
    raise NotMounted(f"own cgroup {path} of {what} is outside every visible mount of it")


def v1_dir(controller_name: str) -> str:
    """Own cgroup directory of a v1 controller; layout errors when it is not on v1."""
    info = controller(controller_name)
    if info.hierarchy == 0:
        raise NotMounted(f"{controller_name} is not bound to any cgroup v1 hierarchy")
    return own_dir(controller_name)


def v2_root() -> str:
    mount = cgroup2_mount()
    if mount is None:
        raise NotMounted("no cgroup2 mount")
    return mount.mount_point


def v2_available(path: str | None = None) -> set[str]:
    """Controllers listed in ``cgroup.controllers`` (of the cgroup2 root by default)."""
    return set(read(os.path.join(path or v2_root(), "cgroup.controllers")).split())


def require_v2_controller(name: str) -> Controller:
    """Check the catalogue's host-layout rule for a v2 controller probe."""
    info = controller(name)
    if info.hierarchy != 0:
        raise BoundToV1(name, info.hierarchy)
    if name not in v2_available():
        raise NoController(f"{name} is not listed in the cgroup2 root cgroup.controllers")
    return info


# --- small file operations ---------------------------------------------------------------------


def read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def read_keyed(path: str) -> dict[str, int]:
    """A flat-keyed file ("key value" lines: cpu.stat, memory.events, pids.events...)."""
    values = {}
    for line in read(path).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


def procs(path: str) -> list[int]:
    return [int(p) for p in read(os.path.join(path, "cgroup.procs")).split()]


def attach(path: str, pid: int = 0) -> None:
    """Move ``pid`` (0: the caller) into the cgroup at ``path``."""
    write(os.path.join(path, "cgroup.procs"), str(pid))


def create(ctx: Registrar, parent: str, suffix: str = "") -> str:
    """mkdir a probe cgroup ``parent/probe_<tag>[_suffix]_<pid>``, registered first."""
    path = os.path.join(parent, ctx.name(suffix))
    ctx.register("cgroup", path)
    os.mkdir(path)
    return path


def _kill_members(path: str) -> None:
    """Thaw the cgroup (a frozen task cannot die) and SIGKILL every member."""
    for name, value in (("freezer.state", "THAWED"), ("cgroup.freeze", "0"), ("cgroup.kill", "1")):
        if os.path.exists(os.path.join(path, name)):
            with contextlib.suppress(OSError):
                write(os.path.join(path, name), value)
    with contextlib.suppress(OSError):
        for pid in procs(path):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def remove(path: str, timeout: float = 3.0) -> None:
    """Kill the members of ``path`` and its descendants, then rmdir them deepest first.

    Used by probes in their ``finally`` and by the runner's cleanup after a kill.
    """
    if not os.path.isdir(path):
        return
    dirs = [root for root, _, _ in os.walk(path, topdown=False)]
    deadline = time.monotonic() + timeout
    for directory in dirs:
        while True:
            _kill_members(directory)
            try:
                os.rmdir(directory)
                break
            except FileNotFoundError:
                break
            except OSError as err:  # EBUSY while killed members are still exiting
                if err.errno != errno.EBUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.002) -> bool:
    """Poll ``predicate()`` until true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@contextlib.contextmanager
def locked(path: str, timeout: float = 10.0) -> Iterator[None]:
    """An exclusive flock on ``path`` held by probes that change shared host state.

    Probes run in parallel; two that change the same ``cgroup.subtree_control``
    or sysctl would undo each other's change (or restore a wrong baseline).
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} stayed locked by another probe") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # releases the lock


# --- cgroup2 controller delegation -------------------------------------------------------------


def subtree_enable(path: str, name: str) -> bool:
    """Add ``+name`` to ``path``'s cgroup.subtree_control; True when it was not there."""
    control = os.path.join(path, "cgroup.subtree_control")
    if name in read(control).split():
        return False
    write(control, f"+{name}")
    return True


def subtree_disable(path: str, name: str, timeout: float = 2.0) -> None:
    """Remove ``name`` again (EBUSY while a just-removed child's css is still dying)."""
    control = os.path.join(path, "cgroup.subtree_control")
    deadline = time.monotonic() + timeout
    while True:
        try:
            write(control, f"-{name}")
            return
        except OSError as err:
            if err.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


@contextlib.contextmanager
def v2_subtree(ctx: Registrar, name: str | None) -> Iterator[tuple[str, str]]:
    """A probe parent cgroup and a leaf under it on cgroup2, controller ``name`` on both.

    The parent is created under the own cgroup; ``+name`` is added to the own
    cgroup's subtree_control only when missing and removed again afterwards, then
    to the (empty) probe parent so the leaf gets it too: the no-internal-process
    rule is kept because processes only ever enter the leaf. Yields
    (parent, leaf); everything is removed on exit.
    """
    base = own_dir(V2)
    with locked(base, timeout=5.0):
        added = False
        parent = ""
        try:
            if name is not None:
                try:
                    added = subtree_enable(base, name)
                except OSError as err:
                    if err.errno in (errno.EBUSY, errno.EOPNOTSUPP, errno.ENOTSUP):
                        raise NotDelegated(
                            f"{name} cannot be enabled below the agent's cgroup {base} "
                            f"({errno.errorcode[err.errno]}): not delegated"
                        ) from err
                    raise
            parent = create(ctx, base, "parent")
            if name is not None:
                subtree_enable(parent, name)
            leaf = create(ctx, parent, "leaf")
            yield parent, leaf
        finally:
            if parent:
                remove(parent)
            if added:
                subtree_disable(base, name)  # type: ignore[arg-type]


# --- throwaway v1 hierarchies ------------------------------------------------------------------


def _mount(source: str, target: str, fstype: str, data: str) -> None:
    ret = _libc.mount(source.encode(), target.encode(), fstype.encode(), 0, data.encode())
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype} {data}: {os.strerror(err)}")


def _umount(target: str, flags: int = 0) -> None:
    if _libc.umount2(target.encode(), flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


def mount_v1(target: str, options: str, busy_timeout: float = 3.0) -> float:
    """Mount a v1 hierarchy with ``options`` ("none,name=x" or "hugetlb") at ``target``.

    Call it inside a private mount namespace. EBUSY is retried for up to
    ``busy_timeout`` seconds: a controller cannot bind to v1 while a dying
    cgroup2 css of it still exists (about 50 ms after a v2 user). Returns the
    seconds spent waiting.
    """
    started = time.monotonic()
    while True:
        try:
            _mount("cgroup", target, "cgroup", options)
            return time.monotonic() - started
        except OSError as err:
            if err.errno != errno.EBUSY or time.monotonic() - started > busy_timeout:
                raise
            time.sleep(0.01)


def _listed(key: str) -> bool:
    """Whether a hierarchy holding ``key`` is still alive (seen in /proc/self/cgroup)."""
    if key.startswith("name="):
        return key in membership()
    info = controllers().get(key)
    return info is not None and info.hierarchy != 0


def umount_v1(
    target: str, options: str, key: str, timeout: float = 3.0, grace: float = 0.15
) -> dict[str, object]:
    """Unmount a throwaway v1 hierarchy and make sure the kernel destroyed it.

    A v1 hierarchy is only destroyed when it has no child cgroups, dying ones
    included, at the moment of the last umount; a child rmdir'd a moment ago
    lingers (RCU-deferred) and the hierarchy then stays alive with no mount. So:
    for a controller, first wait until /proc/cgroups shows num_cgroups == 1;
    umount; destruction itself is asynchronous too (~30-50 ms), so give it
    ``grace`` seconds, and only if the hierarchy is still listed mount it again
    with the same options (which reuses a lingering root) and umount again.
    Remounting sooner would only recreate a hierarchy that was already dying.
    ``key`` is the controller or "name=x". Returns evidence for the probe.
    """
    started = time.monotonic()
    if not key.startswith("name="):
        wait_until(lambda: controllers()[key].num_cgroups <= 1, timeout)
    settled = time.monotonic() - started
    _umount(target)
    remounts = 0
    while not wait_until(lambda: not _listed(key), grace, interval=0.002):
        if time.monotonic() - started > timeout:
            break
        try:
            _mount("cgroup", target, "cgroup", options)
        except OSError:
            continue  # it went away between the check and the mount
        remounts += 1
        _umount(target)
        grace *= 2
    return {
        "settle_ms": round(settled * 1000, 1),
        "umount_ms": round((time.monotonic() - started) * 1000, 1),
        "remounts": remounts,
        "hierarchy_gone": not _listed(key),
    }


def detach(target: str) -> None:
    """Lazy umount, ignoring "not mounted" (for finally blocks)."""
    with contextlib.suppress(OSError):
        _umount(target, MNT_DETACH)


def is_mount_point(path: str) -> bool:
    path = os.path.normpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(_unescape(line.split()[4]) == path for line in f)
