"""Roadmap area 2, "continuation with new namespaces": the probes that prove it.

devpts instances and the container console, user namespaces (mapped root,
unprivileged creation, the reach of namespaced capabilities, per-namespace
limits, idmapped mounts), time namespaces, cgroup namespaces, the nsfs API
(inventory, ioctls, bind-mounted namespace files, util-linux tools) and
entering namespaces with setns(2). The spec is section 2 of the probe
catalogue; each probe's docstring states its pass criterion.

Every probe runs in its own forked process (the runner's), so it may unshare
and setns freely. Helpers that must live in another namespace are forked
with ``_spawn``: a ``Child`` plus a two-way ``_Link`` whose EOF tells the
probe that the helper died, so a helper's errno or verdict comes back at
once instead of after a timeout.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import platform
import re
import select
import shutil
import socket
import struct
import subprocess
import termios
import time
import tty
from collections.abc import Callable, Iterator
from typing import Any

from .. import cgroupfs
from ..catalogue import probe
from ..context import ProbeContext
from ..kernelfiles import read_text, write_once
from ..process import Child, ChildError
from ..syscalls import (
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    MNT_DETACH,
    MS_BIND,
    MS_NOEXEC,
    MS_NOSUID,
    PR_SET_DUMPABLE,
    MountAttr,
    libc,
    make_mounts_private,
    mount,
    prctl,
    sethostname,
    setns,
    syscall,
    umount,
    unshare,
)
from ..verdicts import (
    Verdict,
    denied,
    disabled,
    errno_name,
    failed,
    introducing,
    passed,
    skipped,
    unsupported,
    verdict_from_oserror,
)

# --- constants this family needs (uapi headers) -------------------------------------------

# <asm-generic/ioctls.h>: pty ioctls
TIOCGPTN = 0x80045430  # get the pty index
TIOCSPTLCK = 0x40045431  # (un)lock the slave
TIOCGPTPEER = 0x5441  # open the slave from the master, 4.13
PTY_SLAVE_MAJOR = 136  # UNIX98_PTY_SLAVE_MAJOR; indexes >= 256 use the next majors

# <linux/nsfs.h>
NS_GET_USERNS = 0xB701
NS_GET_PARENT = 0xB702
NS_GET_NSTYPE = 0xB703
NS_GET_OWNER_UID = 0xB704

# <linux/mount.h>, <fcntl.h>
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_IDMAP = 0x100000

# <linux/sockios.h>, <net/if.h>
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

# clock_gettime is called raw as well as through the vDSO (time namespace probe).
_NR_CLOCK_GETTIME = {"x86_64": 228, "aarch64": 113}.get(platform.machine(), 228)

NOBODY = 65534  # the unprivileged uid/gid the "no root" user-namespace probes drop to
HOLD_TIMEOUT = 5.0  # seconds a probe waits for one helper message


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


# --- small host readers ---------------------------------------------------------------------


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _expect_errno(call: Callable[[], Any]) -> str:
    """Run ``call`` where a failure is the expected outcome: its errno name, or "ok"."""
    try:
        call()
    except OSError as err:
        return errno_name(err)
    return "ok"


def _ns_link(what: str, pid: int | str = "self") -> str:
    return os.readlink(f"/proc/{pid}/ns/{what}")


def _ns_ino(what: str, pid: int | str = "self") -> int:
    return os.stat(f"/proc/{pid}/ns/{what}").st_ino


def _status_field(name: str, pid: int | str = "self") -> str:
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def _cap_eff() -> int:
    return int(_status_field("CapEff"), 16)


def _full_caps() -> int:
    """Every capability this kernel knows: what a user namespace's creator holds in it."""
    last = int(read_text("/proc/sys/kernel/cap_last_cap", "40") or 40)
    return (1 << (last + 1)) - 1


def _overflow_uid() -> int:
    return int(read_text("/proc/sys/kernel/overflowuid", str(NOBODY)) or NOBODY)


def _mount_of(path: str) -> tuple[str, str]:
    """(mount point, fs type) of the mount holding ``path`` in this mount namespace."""
    best = ("/", "")
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            point = left.split()[4]
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best[0]):
                best = (point, right.split()[0])
    return best


def _ns_limits() -> dict[str, int]:
    limits = {}
    with contextlib.suppress(OSError):
        for name in sorted(os.listdir("/proc/sys/user")):
            if name.startswith("max_"):
                with contextlib.suppress(OSError, ValueError):
                    limits[name] = int(_read(f"/proc/sys/user/{name}"))
    return limits


# --- forked helpers that talk back ----------------------------------------------------------


class _Link:
    """Two pipes between a probe and one forked helper, carrying JSON lines.

    EOF on the probe's side means the helper ended: ``recv`` then collects the
    helper's forwarded OSError or verdict from its ``Child`` and re-raises it.
    """

    def __init__(self) -> None:
        self._up = os.pipe()  # helper -> probe
        self._down = os.pipe()  # probe -> helper
        self._in = self._out = -1
        self._buffer = b""
        self.child: Child | None = None

    def as_helper(self) -> None:
        os.close(self._up[0])
        os.close(self._down[1])
        self._in, self._out = self._down[0], self._up[1]

    def as_probe(self, child: Child) -> None:
        os.close(self._up[1])
        os.close(self._down[0])
        self._in, self._out = self._up[0], self._down[1]
        self.child = child

    def send(self, value: Any = None) -> None:
        os.write(self._out, json.dumps(value).encode() + b"\n")

    def recv(self, timeout: float = HOLD_TIMEOUT) -> Any:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._in], [], [], max(0.0, left))
            if not ready:
                raise TimeoutError(f"no message from the other side within {timeout:.1f} s")
            chunk = os.read(self._in, 4096)
            if not chunk:
                self._other_side_gone(timeout)
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _other_side_gone(self, timeout: float) -> None:
        if self.child is None:  # the helper's probe is gone: nothing left to do
            os._exit(0)
        value = self.child.result(timeout)  # re-raises the helper's OSError / verdict
        raise ChildError(f"helper ended early, returning {value!r}")


def _spawn(body: Callable[[_Link], Any]) -> tuple[Child, _Link]:
    """Fork a helper running ``body(link)``; its return value is ``child.result()``."""
    link = _Link()

    def run() -> Any:
        link.as_helper()
        return body(link)

    child = Child(run)
    link.as_probe(child)
    return child, link


def _finish(*children: Child | None) -> None:
    for child in children:
        if child is not None:
            child.finish()


# --- user namespace plumbing ----------------------------------------------------------------


def _userns_policy() -> dict[str, str]:
    """The knobs that switch user namespaces off by policy, where this host has them."""
    knobs = (
        "kernel.unprivileged_userns_clone",  # Debian, 0 = off
        "kernel.apparmor_restrict_unprivileged_userns",  # Ubuntu 23.10+, 1 = restricted
        "user.max_user_namespaces",
    )
    values = {name: read_text("/proc/sys/" + name.replace(".", "/")) for name in knobs}
    return {name: value for name, value in values.items() if value is not None}


def _userns_failure(err: OSError, what: str) -> Verdict:
    """Classify a failed user-namespace creation (catalogue section 1)."""
    name = errno_name(err)
    policy = _userns_policy()
    if err.errno == errno.EINVAL:
        return unsupported(f"{what}: EINVAL, user namespaces are not built in", errno=name)
    if err.errno in (errno.ENOSPC, errno.EUSERS):
        return disabled(
            f"{what}: {name}, the user namespace limit is reached", errno=name, policy=policy
        )
    if err.errno == errno.EPERM:
        switched_off = (
            policy.get("kernel.unprivileged_userns_clone") == "0"
            or policy.get("kernel.apparmor_restrict_unprivileged_userns") == "1"
        )
        if switched_off:
            return disabled(
                f"{what}: EPERM, unprivileged user namespaces are switched off",
                errno=name,
                policy=policy,
            )
        return denied(f"{what}: EPERM without a policy knob saying no", errno=name, policy=policy)
    return verdict_from_oserror(err, what)


def _new_userns() -> None:
    """unshare(CLONE_NEWUSER) in a helper; failures become verdicts there and then."""
    try:
        unshare(CLONE_NEWUSER)
    except OSError as err:
        raise _userns_failure(err, "unshare(CLONE_NEWUSER)") from err


def _map_ids(pid: int, mapping: str) -> None:
    """Write a helper's uid_map and gid_map from the parent namespace."""
    try:
        write_once(f"/proc/{pid}/uid_map", mapping)
        write_once(f"/proc/{pid}/gid_map", mapping)
    except OSError as err:
        raise verdict_from_oserror(err, f"writing id map {mapping!r}") from err


def _become_unprivileged() -> tuple[int, int]:
    """Drop to nobody unless already unprivileged; keep /proc/self writable."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    # A credential change clears "dumpable", which makes /proc/self/*_map root-owned.
    prctl(PR_SET_DUMPABLE, 1)
    return os.getuid(), os.getgid()


def _self_map(uid: int, gid: int) -> None:
    """The only mapping an unprivileged process may write: its own ids, setgroups denied."""
    write_once("/proc/self/setgroups", "deny")
    write_once("/proc/self/uid_map", f"0 {uid} 1")
    write_once("/proc/self/gid_map", f"0 {gid} 1")


def _unprivileged_userns() -> tuple[int, int]:
    uid, gid = _become_unprivileged()
    _new_userns()
    _self_map(uid, gid)
    return uid, gid


# --- pty plumbing ---------------------------------------------------------------------------


def _open_ptmx(path: str = "/dev/ptmx") -> int:
    """A pty master; a missing multiplexer means the kernel has no UNIX98 ptys."""
    with introducing(f"open({path})"):
        return os.open(path, os.O_RDWR | os.O_NOCTTY)


def _pty_index(master: int) -> int:
    return struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]


def _unlock(master: int) -> None:
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))


def _pty_rdev(index: int) -> tuple[int, int]:
    return PTY_SLAVE_MAJOR + index // 256, index % 256


def _read_exact(fd: int, size: int, timeout: float = 2.0) -> bytes:
    """Read ``size`` bytes, waiting with select (no sleeps); short on timeout or EOF/EIO."""
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        try:
            chunk = os.read(fd, size - len(data))
        except OSError as err:  # EIO: the other side hung up
            if err.errno == errno.EIO:
                break
            raise
        if not chunk:
            break
        data += chunk
    return data


def _round_trip(master: int, slave: int) -> dict[str, bool]:
    """Bytes master -> slave and slave -> master on a raw-mode pty."""
    tty.setraw(slave)  # no echo, no CR/LF translation: bytes arrive as written
    down, up = b"probe-down\n", b"probe-up\n"
    os.write(master, down)
    got_down = _read_exact(slave, len(down))
    os.write(slave, up)
    got_up = _read_exact(master, len(up))
    return {"master_to_slave": got_down == down, "slave_to_master": got_up == up}


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


@contextlib.contextmanager
def _private_mounts() -> Iterator[None]:
    """A private mount namespace for this probe process: nothing reaches the host table."""
    with introducing("unshare(CLONE_NEWNS)"):
        unshare(CLONE_NEWNS)
    make_mounts_private()
    yield


def _detach(*paths: str) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            umount(path, MNT_DETACH)


def _mount_devpts(target: str) -> None:
    """A new devpts instance (every mount is one since 4.7; ``newinstance`` before)."""
    options = "newinstance,ptmxmode=0666,mode=0620"
    try:
        mount("devpts", target, "devpts", MS_NOSUID | MS_NOEXEC, options)
    except OSError as err:
        if err.errno in (errno.EINVAL, errno.ENODEV):
            raise unsupported(
                f"mounting a new devpts instance: {errno_name(err)}",
                errno=errno_name(err),
                options=options,
            ) from err
        raise verdict_from_oserror(err, "mount devpts") from err


# --- devpts and tty --------------------------------------------------------------------------


@probe(
    "ns.devpts.newinstance",
    title="devpts: a private pty instance with its own numbering",
    item="devpts-console-tty",
    since="2.6.29",
    config=("CONFIG_UNIX98_PTYS", "CONFIG_DEVPTS_MULTIPLE_INSTANCES"),
)
def devpts_newinstance(ctx: ProbeContext) -> Verdict:
    """Pass: in a new devpts instance the first pty is index 0 although the probe holds a host
    pty, only that pty appears there, ptmx is mode 0666, the host /dev/pts is another
    superblock, and bytes round-trip through the pair."""
    host_master = _open_ptmx()
    master = slave = -1
    try:
        host_index = _pty_index(host_master)
        host_before = sorted(os.listdir("/dev/pts"))
        with _private_mounts():
            scratch = ctx.scratch()
            _mount_devpts(scratch)
            try:
                master = _open_ptmx(os.path.join(scratch, "ptmx"))
                index = _pty_index(master)
                _unlock(master)
                slave = os.open(os.path.join(scratch, str(index)), os.O_RDWR | os.O_NOCTTY)
                ptmx_mode = os.stat(os.path.join(scratch, "ptmx")).st_mode & 0o7777
                listing = sorted(os.listdir(scratch))
                own_dev = os.stat(scratch).st_dev
                host_dev = os.stat("/dev/pts").st_dev
                trip = _round_trip(master, slave)
                host_after = sorted(os.listdir("/dev/pts"))
            finally:
                _close(slave, master)
                _detach(scratch)
    finally:
        _close(host_master)
    evidence = {
        "index": index,
        "host_index_held": host_index,
        "ptmx_mode": oct(ptmx_mode),
        "instance_nodes": listing,
        "host_before": host_before,
        "host_after": host_after,
        "instance_dev": own_dev,
        "host_dev": host_dev,
        **trip,
    }
    problems = []
    if index != 0:
        problems.append(f"first index {index}, not 0")
    if listing != ["0", "ptmx"]:
        problems.append(f"instance shows {listing}")
    if ptmx_mode != 0o666:
        problems.append(f"ptmx mode {oct(ptmx_mode)}")
    if own_dev == host_dev:
        problems.append("same superblock as the host /dev/pts")
    if not all(trip.values()):
        problems.append("round trip lost bytes")
    if problems:
        return failed("new devpts instance misbehaved: " + "; ".join(problems), **evidence)
    return passed(
        f"new devpts instance numbered its first pty 0 while host pty {host_index} "
        f"was held, nodes {listing}, ptmx 0666, round trip ok",
        **evidence,
    )


@probe(
    "ns.devpts.tiocgptpeer",
    title="devpts: TIOCGPTPEER opens the slave without a path",
    item="devpts-console-tty",
    since="4.13",
    config=("CONFIG_UNIX98_PTYS",),
    needs_root=False,
)
def devpts_tiocgptpeer(ctx: ProbeContext) -> Verdict:
    """Pass: ioctl(master, TIOCGPTPEER) returns a slave fd whose rdev is 136:<TIOCGPTN index>
    and data flows both ways."""
    master = _open_ptmx()
    slave = -1
    try:
        index = _pty_index(master)
        _unlock(master)
        try:
            slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
        except OSError as err:
            if err.errno in (errno.EINVAL, errno.ENOTTY):
                raise unsupported(
                    f"TIOCGPTPEER is not known to this kernel ({errno_name(err)})",
                    errno=errno_name(err),
                ) from err
            raise
        rdev = os.fstat(slave).st_rdev
        got = (os.major(rdev), os.minor(rdev))
        trip = _round_trip(master, slave)
    finally:
        _close(slave, master)
    want = _pty_rdev(index)
    evidence = {"index": index, "rdev": f"{got[0]}:{got[1]}", **trip}
    if got != want or not all(trip.values()):
        return failed(
            f"peer fd is {got[0]}:{got[1]} for index {index} "
            f"(want {want[0]}:{want[1]}), round trip {trip}",
            **evidence,
        )
    return passed(
        f"TIOCGPTPEER gave slave {got[0]}:{got[1]} for pty {index}, round trip ok", **evidence
    )


@probe(
    "ns.tty.pty_ctty",
    title="pty as a controlling terminal (winsize, setsid, /dev/tty)",
    item="devpts-console-tty",
    since="2.6",
    config=("CONFIG_TTY", "CONFIG_UNIX98_PTYS"),
    needs_root=False,
)
def tty_pty_ctty(ctx: ProbeContext) -> Verdict:
    """Pass: the window size set on the master reads back on the slave; a child that called
    setsid() and opened the slave got it as controlling tty (tty_nr = slave rdev, foreground
    pgrp = itself), and what it wrote to /dev/tty arrived on the master."""
    with introducing("openpty(3)"):
        master, slave = os.openpty()
    try:
        winsize = struct.pack("HHHH", 37, 111, 0, 0)
        fcntl.ioctl(master, termios.TIOCSWINSZ, winsize)
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(slave, termios.TIOCGWINSZ, b"\0" * 8))
        tty.setraw(slave)  # /dev/tty output arrives byte for byte
        path = os.ttyname(slave)
        rdev = os.fstat(slave).st_rdev
        message = b"via-dev-tty\n"

        def session_leader() -> dict[str, Any]:
            # A forked child is not a process-group leader, so setsid() may succeed here.
            os.setsid()
            fd = os.open(path, os.O_RDWR)  # no O_NOCTTY: a session leader acquires it
            stat = _read("/proc/self/stat")
            tty_nr = int(stat.rsplit(")", 1)[1].split()[4])
            pgrp = os.tcgetpgrp(fd)
            with open("/dev/tty", "wb", buffering=0) as ctty:
                ctty.write(message)
            os.close(fd)
            return {"pid": os.getpid(), "sid": os.getsid(0), "tty_nr": tty_nr, "pgrp": pgrp}

        child = Child(session_leader)
        try:
            seen = child.result()
            got = _read_exact(master, len(message))
        finally:
            child.finish()  # the probe reaps its own session leader
    finally:
        _close(slave, master)
    ctty_ok = (os.major(seen["tty_nr"]), os.minor(seen["tty_nr"])) == (
        os.major(rdev),
        os.minor(rdev),
    )
    evidence = {
        "winsize": [rows, cols],
        "slave": path,
        "slave_rdev": f"{os.major(rdev)}:{os.minor(rdev)}",
        "tty_nr": f"{os.major(seen['tty_nr'])}:{os.minor(seen['tty_nr'])}",
        "child_pid": seen["pid"],
        "child_sid": seen["sid"],
        "tcgetpgrp": seen["pgrp"],
        "dev_tty_bytes": got.decode(errors="replace"),
    }
    problems = []
    if (rows, cols) != (37, 111):
        problems.append(f"winsize read back {rows}x{cols}")
    if not ctty_ok:
        problems.append("tty_nr is not the slave")
    if seen["pgrp"] != seen["pid"] or seen["sid"] != seen["pid"]:
        problems.append("child is not the foreground session leader")
    if got != message:
        problems.append(f"master read {got!r}")
    if problems:
        return failed("pty as controlling tty misbehaved: " + "; ".join(problems), **evidence)
    return passed(
        f"winsize 37x111 round-tripped, setsid child got {path} as controlling tty "
        "(foreground pgrp itself) and its /dev/tty output reached the master",
        **evidence,
    )


@probe(
    "ns.tty.container_console",
    title="container console: a pty bound over /dev/console",
    item="devpts-console-tty",
    since="2.6.29",
    config=("CONFIG_UNIX98_PTYS",),
)
def tty_container_console(ctx: ProbeContext) -> Verdict:
    """Pass: bytes written to a "container /dev/console" (a pty slave of a private devpts
    instance bind-mounted over a file) arrive on the master, and input flows back. Never
    TIOCCONS, which redirects the host console."""
    host_console = {
        "consoles": (read_text("/proc/consoles", "") or "").splitlines(),
        "active": read_text("/sys/class/tty/console/active"),
    }
    with contextlib.suppress(OSError):
        rdev = os.stat("/dev/console").st_rdev
        host_console["dev_console"] = f"{os.major(rdev)}:{os.minor(rdev)}"
    master = console = -1
    with _private_mounts():
        scratch = ctx.scratch()
        pts = os.path.join(scratch, "pts")
        target = os.path.join(scratch, "console")
        try:
            os.mkdir(pts)
            _mount_devpts(pts)
            master = _open_ptmx(os.path.join(pts, "ptmx"))
            index = _pty_index(master)
            _unlock(master)
            with open(target, "w"):
                pass
            mount(os.path.join(pts, str(index)), target, None, MS_BIND)
            console = os.open(target, os.O_RDWR | os.O_NOCTTY)
            rdev = os.fstat(console).st_rdev
            trip = _round_trip(master, console)
        finally:
            _close(console, master)
            _detach(target, pts)
    got = (os.major(rdev), os.minor(rdev))
    evidence = {"index": index, "console_rdev": f"{got[0]}:{got[1]}", **trip, **host_console}
    if got != _pty_rdev(index) or not all(trip.values()):
        return failed(f"bound console is {got[0]}:{got[1]}, round trip {trip}", **evidence)
    return passed(
        f"pty {index} bound over the container console carried output to the master "
        f"and input back (host console {host_console['active']})",
        **evidence,
    )


# --- user namespaces ------------------------------------------------------------------------


@probe(
    "ns.user.root_mapped",
    title="user namespace: root inside mapped to an unprivileged uid",
    item="user-namespace",
    since="3.8",
    config=("CONFIG_USER_NS",),
)
def user_root_mapped(ctx: ProbeContext) -> Verdict:
    """Pass: before mapping the child is the overflow uid; after "0 100000 65536" is written
    it becomes uid 0 with every capability inside, while the host sees uid 100000."""

    def inside(link: _Link) -> dict[str, Any]:
        _new_userns()
        link.send({"uid_before": os.getuid()})
        link.recv()  # the maps are written
        os.setgid(0)
        os.setuid(0)
        link.send({"uid": os.getuid(), "gid": os.getgid(), "cap_eff": _cap_eff()})
        link.recv()  # the host has looked at us
        return {}

    child, link = _spawn(inside)
    try:
        before = link.recv()["uid_before"]
        _map_ids(child.pid, "0 100000 65536")
        link.send()
        seen = link.recv()
        host_uid = [int(v) for v in _status_field("Uid", child.pid).split()]
        link.send()
        child.result()
    finally:
        child.finish()
    full = _full_caps()
    evidence = {
        "uid_before_map": before,
        "uid_inside": seen["uid"],
        "gid_inside": seen["gid"],
        "cap_eff": f"{seen['cap_eff']:016x}",
        "host_uid": host_uid,
    }
    problems = []
    if before != _overflow_uid():
        problems.append(f"uid before mapping {before}")
    if (seen["uid"], seen["gid"]) != (0, 0):
        problems.append(f"ids inside {seen['uid']}/{seen['gid']}")
    if seen["cap_eff"] != full:
        problems.append(f"CapEff {seen['cap_eff']:x} not {full:x}")
    if set(host_uid) != {100000}:
        problems.append(f"host sees uid {host_uid}")
    if problems:
        return failed("mapped root misbehaved: " + "; ".join(problems), **evidence)
    return passed(
        f"uid {before} before mapping, uid 0 with CapEff {full:x} inside, host sees uid 100000",
        **evidence,
    )


@probe(
    "ns.user.unprivileged",
    title="user namespace: created and self-mapped by nobody",
    item="user-namespace",
    since="3.8",
    config=("CONFIG_USER_NS",),
    needs_root=False,
)
def user_unprivileged(ctx: ProbeContext) -> Verdict:
    """Pass: an unprivileged process creates a user namespace, its gid_map write is refused
    until setgroups is denied, it maps itself to 0 with every capability inside, and a second
    uid_map write is refused."""

    def inside() -> dict[str, Any]:
        uid, gid = _become_unprivileged()
        _new_userns()
        early_gid_map = _expect_errno(lambda: write_once("/proc/self/gid_map", f"0 {gid} 1"))
        setgroups_file = os.path.exists("/proc/self/setgroups")
        _self_map(uid, gid)
        second = _expect_errno(lambda: write_once("/proc/self/uid_map", f"0 {uid} 1"))
        return {
            "host_uid": uid,
            "uid": os.getuid(),
            "gid": os.getgid(),
            "cap_eff": _cap_eff(),
            "gid_map_before_deny": early_gid_map,
            "second_uid_map": second,
            "setgroups_file": setgroups_file,
        }

    child = Child(inside)
    try:
        seen = child.result()
    finally:
        child.finish()
    full = _full_caps()
    evidence = {**seen, "cap_eff": f"{seen['cap_eff']:016x}"}
    problems = []
    if (seen["uid"], seen["gid"]) != (0, 0) or seen["cap_eff"] != full:
        problems.append(f"inside uid {seen['uid']} CapEff {seen['cap_eff']:x}")
    if seen["gid_map_before_deny"] != "EPERM":
        problems.append(f"gid_map before setgroups deny: {seen['gid_map_before_deny']}")
    if seen["second_uid_map"] != "EPERM":
        problems.append(f"second uid_map write: {seen['second_uid_map']}")
    if problems:
        return failed("unprivileged user namespace misbehaved: " + "; ".join(problems), **evidence)
    return passed(
        f"uid {seen['host_uid']} became uid 0 with CapEff {full:x}; gid_map before "
        "setgroups=deny and a second uid_map write were EPERM",
        **evidence,
    )


def _bring_lo_up() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, req))[1]
    return bool(flags & IFF_UP)


@probe(
    "ns.user.capability_scope",
    title="user namespace: capabilities reach only owned namespaces",
    item="user-namespace",
    since="3.8",
    config=("CONFIG_USER_NS", "CONFIG_UTS_NS", "CONFIG_NET_NS"),
    needs_root=False,
)
def user_capability_scope(ctx: ProbeContext) -> Verdict:
    """Pass: unprivileged userns root gets EPERM from sethostname in the inherited UTS ns,
    then succeeds on its own UTS, net (lo up) and mount (tmpfs) namespaces, and still gets
    EACCES opening /etc/shadow (no capability over unmapped host uids)."""
    scratch = ctx.scratch()  # mount point for the tmpfs, made while still privileged
    secret = "/etc/shadow"

    def inside() -> dict[str, Any]:
        _unprivileged_userns()
        host_uts = _expect_errno(lambda: sethostname("probe-capscope"))
        unshare(CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWNS)
        sethostname("probe-capscope")
        lo_up = _bring_lo_up()
        make_mounts_private()
        mount("tmpfs", scratch, "tmpfs", 0, "size=64k")
        with open(os.path.join(scratch, "written"), "w") as f:
            f.write("x")
        tmpfs = _mount_of(scratch)[1]
        shadow = _expect_errno(lambda: os.close(os.open(secret, os.O_RDONLY)))
        return {
            "host_uts": host_uts,
            "hostname": os.uname().nodename,
            "lo_up": lo_up,
            "tmpfs": tmpfs,
            "shadow": shadow,
        }

    child = Child(inside)
    try:
        seen = child.result()
    finally:
        child.finish()
    has_secret = os.path.exists(secret)
    problems = []
    if seen["host_uts"] != "EPERM":
        problems.append(f"sethostname in the host UTS ns: {seen['host_uts']}")
    if seen["hostname"] != "probe-capscope" or not seen["lo_up"] or seen["tmpfs"] != "tmpfs":
        problems.append("an owned namespace refused the change")
    if has_secret and seen["shadow"] != "EACCES":
        problems.append(f"{secret} open: {seen['shadow']}")
    if problems:
        return failed("capability scope wrong: " + "; ".join(problems), **seen)
    return passed(
        "host UTS refused (EPERM), own UTS/net/mnt accepted hostname, lo up and "
        f"tmpfs, {secret} {seen['shadow'] if has_secret else 'absent'}",
        **seen,
    )


@probe(
    "ns.user.per_userns_limits",
    title="user namespace: per-namespace max_*_namespaces",
    item="namespace-management-tools",
    since="4.9",
    config=("CONFIG_USER_NS", "CONFIG_NET_NS"),
    needs_root=False,
)
def user_per_userns_limits(ctx: ProbeContext) -> Verdict:
    """Pass: in an unprivileged user namespace, writing 0 to its own copy of
    max_net_namespaces makes unshare(CLONE_NEWNET) fail with ENOSPC, host value unchanged."""
    limit = "/proc/sys/user/max_net_namespaces"
    host_before = read_text(limit)
    if host_before is None:
        raise unsupported(f"{limit} is missing (per-user-namespace limits came in 4.9)")

    def inside() -> dict[str, Any]:
        _unprivileged_userns()
        write_once(limit, "0")
        inner = read_text(limit)
        outcome = _expect_errno(lambda: unshare(CLONE_NEWNET))
        return {"inner_value": inner, "unshare_newnet": outcome}

    child = Child(inside)
    try:
        seen = child.result()
    finally:
        child.finish()
    host_after = read_text(limit)
    evidence = {**seen, "host_before": host_before, "host_after": host_after}
    ok = (seen["unshare_newnet"], seen["inner_value"], host_after) == ("ENOSPC", "0", host_before)
    if not ok:
        return failed(
            f"limit 0 inside gave {seen['unshare_newnet']}, host {host_before} -> {host_after}",
            **evidence,
        )
    return passed(
        f"max_net_namespaces=0 in the user namespace made unshare(CLONE_NEWNET) "
        f"ENOSPC; host value stayed {host_before}",
        **evidence,
    )


@probe(
    "ns.user.idmapped_mount",
    title="user namespace: idmapped mounts (mount_setattr)",
    item="user-namespace",
    since="5.12",
    config=("CONFIG_USER_NS",),
)
def user_idmapped_mount(ctx: ProbeContext) -> Verdict:
    """Pass: a root-owned file shows uid 0 through its source and uid 10000 through an
    idmapped clone of the same directory (user ns mapping "0 10000 1000")."""
    source = ctx.scratch("src")
    # The filesystem decides (ext4/xfs 5.12, btrfs 5.15, tmpfs 6.3): EINVAL below names it.
    _, fstype = _mount_of(source)
    marker = os.path.join(source, "owned-by-root")
    with open(marker, "w"):
        pass
    try:
        os.chown(marker, 0, 0)
    except OSError as err:
        raise verdict_from_oserror(err, "creating a root-owned file") from err

    def holder(link: _Link) -> None:
        _new_userns()
        link.send("ready")
        link.recv()  # the probe holds the namespace fd now

    child, link = _spawn(holder)
    tree = userns = -1
    try:
        link.recv()
        _map_ids(child.pid, "0 10000 1000")
        userns = os.open(f"/proc/{child.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        link.send()
        child.result()
        with _private_mounts():
            target = ctx.scratch("idmapped")
            with introducing("open_tree(OPEN_TREE_CLONE)"):
                tree = syscall("open_tree", AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
            attr = MountAttr(attr_set=MOUNT_ATTR_IDMAP, userns_fd=userns)
            try:
                syscall(
                    "mount_setattr",
                    tree,
                    "",
                    AT_EMPTY_PATH,
                    ctypes.byref(attr),
                    ctypes.sizeof(attr),
                )
            except OSError as err:
                if err.errno in (errno.EINVAL, errno.ENOSYS):
                    raise unsupported(
                        f"mount_setattr(MOUNT_ATTR_IDMAP) on {fstype}: {errno_name(err)}",
                        errno=errno_name(err),
                        fstype=fstype,
                    ) from err
                raise verdict_from_oserror(err, "mount_setattr(MOUNT_ATTR_IDMAP)") from err
            syscall("move_mount", tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)
            try:
                via_source = os.stat(marker).st_uid
                via_idmap = os.stat(os.path.join(target, "owned-by-root")).st_uid
            finally:
                _detach(target)
    finally:
        _close(tree, userns)
        child.finish()
    evidence = {"fstype": fstype, "uid_via_source": via_source, "uid_via_idmapped": via_idmap}
    if (via_source, via_idmap) != (0, 10000):
        return failed(
            f"file owner {via_source} via source, {via_idmap} via idmapped mount", **evidence
        )
    return passed(
        f"root-owned file on {fstype} shows uid 0 via the source and 10000 via the idmapped mount",
        **evidence,
    )


# --- time and cgroup namespaces --------------------------------------------------------------


def _clocks() -> dict[str, int]:
    """Monotonic/boottime/realtime in ns via the vDSO, monotonic raw, /proc/uptime in cs."""
    raw = Timespec()
    nr, clock = ctypes.c_long(_NR_CLOCK_GETTIME), ctypes.c_long(time.CLOCK_MONOTONIC)
    if libc.syscall(nr, clock, ctypes.byref(raw)) != 0:
        raise OSError(ctypes.get_errno(), "clock_gettime")
    uptime = _read("/proc/uptime").split()[0]
    return {
        "monotonic": time.clock_gettime_ns(time.CLOCK_MONOTONIC),
        "boottime": time.clock_gettime_ns(time.CLOCK_BOOTTIME),
        "realtime": time.clock_gettime_ns(time.CLOCK_REALTIME),
        "monotonic_syscall": raw.tv_sec * 10**9 + raw.tv_nsec,
        "uptime_cs": round(float(uptime) * 100),
    }


@probe(
    "ns.time.offsets",
    title="time namespace: per-namespace monotonic and boottime offsets",
    item="time-namespace",
    since="5.6",
    config=("CONFIG_TIME_NS",),
)
def time_offsets(ctx: ProbeContext) -> Verdict:
    """Pass: a child of unshare(CLONE_NEWTIME) sees monotonic +86400 s, boottime and
    /proc/uptime +172800 s, realtime unchanged (through the vDSO and the raw syscall), and
    writing the offsets once a process has entered fails with EACCES."""
    offsets = {"monotonic": 86400, "boottime": 172800}
    with introducing("unshare(CLONE_NEWTIME)"):
        unshare(CLONE_NEWTIME)
    own, for_children = _ns_link("time"), _ns_link("time_for_children")
    if own == for_children:
        return failed(
            "time_for_children still names the caller's own time namespace",
            time=own,
            time_for_children=for_children,
        )
    with introducing("/proc/self/timens_offsets"):
        write_once(
            "/proc/self/timens_offsets",
            "".join(f"{clock} {secs} 0\n" for clock, secs in offsets.items()),
        )
    before = _clocks()
    child = Child(_clocks)
    try:
        inside = child.result()
    finally:
        child.finish()
    after = _clocks()
    late = _expect_errno(lambda: write_once("/proc/self/timens_offsets", "monotonic 1 0\n"))
    # (reading, expected shift in s, units per s, slack in units): the child's reading minus
    # the shift must fall between the parent's readings taken just before and after it.
    checks = (
        ("monotonic", offsets["monotonic"], 10**9, 0),
        ("monotonic_syscall", offsets["monotonic"], 10**9, 0),
        ("boottime", offsets["boottime"], 10**9, 0),
        ("realtime", 0, 10**9, 0),
        ("uptime_cs", offsets["boottime"], 100, 1),  # /proc/uptime has centiseconds
    )
    deltas, problems = {}, []
    for name, secs, unit, slack in checks:
        shift = secs * unit
        deltas[name] = round((inside[name] - before[name]) / unit, 3)
        if not before[name] + shift - slack <= inside[name] <= after[name] + shift + slack:
            problems.append(f"{name} shifted by {deltas[name]} s, not {secs}")
    if late != "EACCES":
        problems.append(f"late offsets write gave {late}")
    evidence = {
        "time": own,
        "time_for_children": for_children,
        "deltas_s": deltas,
        "late_write": late,
    }
    if problems:
        return failed("time namespace offsets wrong: " + "; ".join(problems), **evidence)
    return passed(
        "child saw monotonic +86400 s, boottime and uptime +172800 s, realtime +0 "
        "(vDSO and syscall); late offsets write EACCES",
        **evidence,
    )


def _own_cgroup_dir() -> tuple[str, str, str]:
    """(hierarchy dir of this process, its /proc/self/cgroup line prefix, fs type).

    The cgroup2 mount is preferred; a v1 hierarchy serves on hosts without one.
    """
    lines = [line.split(":", 2) for line in _read("/proc/self/cgroup").splitlines()]
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fields, fs = left.split(), right.split()
            if fs[0] in ("cgroup", "cgroup2"):
                mounts.append((fields[3], fields[4], fs[0], set(fs[2].split(","))))
    candidates = []
    for hid, controllers, path in lines:
        for root, point, fstype, options in mounts:
            if hid == "0" and fstype == "cgroup2":
                candidates.append((0, hid, controllers, path, root, point, fstype))
            elif (
                hid != "0"
                and fstype == "cgroup"
                and controllers
                and set(controllers.split(",")) <= options
            ):
                candidates.append((1, hid, controllers, path, root, point, fstype))
    for _, hid, controllers, path, root, point, fstype in sorted(candidates):
        if path == root or path.startswith(root.rstrip("/") + "/"):
            inner = path[len(root.rstrip("/")) :].lstrip("/")
            return os.path.join(point, inner), f"{hid}:{controllers}:", fstype
    raise skipped(
        "no mounted cgroup hierarchy holds this process's cgroup",
        cgroup=_read("/proc/self/cgroup").splitlines(),
    )


@probe(
    "ns.cgroup.isolation",
    title="cgroup namespace: the creator's cgroup becomes its root",
    item="new-namespaces",
    since="4.6",
    config=("CONFIG_CGROUPS",),
)
def cgroup_isolation(ctx: ProbeContext) -> Verdict:
    """Pass: a child moved into a fresh cgroup that unshares CLONE_NEWCGROUP sees its line as
    "<hierarchy>:/", while the host sees the full path ending in probe_..._<pid>."""
    base, prefix, fstype = _own_cgroup_dir()
    group = os.path.join(base, ctx.name())
    ctx.register("cgroup", group)
    try:
        os.mkdir(group)
    except OSError as err:
        raise verdict_from_oserror(err, f"mkdir {group}") from err

    def inside(link: _Link) -> None:
        write_once(os.path.join(group, "cgroup.procs"), "0")
        with introducing("unshare(CLONE_NEWCGROUP)"):
            unshare(CLONE_NEWCGROUP)
        link.send(_read("/proc/self/cgroup").splitlines())
        link.recv()  # the host has read our line

    child = None
    try:
        child, link = _spawn(inside)
        own_view = link.recv()
        host_view = _read(f"/proc/{child.pid}/cgroup").splitlines()
        link.send()
        child.result()
    finally:
        _finish(child)
        cgroupfs.remove(group, timeout=2.0)
    inner = next((line for line in own_view if line.startswith(prefix)), "")
    outer = next((line for line in host_view if line.startswith(prefix)), "")
    evidence = {
        "hierarchy": fstype,
        "cgroup": group,
        "child_sees": inner,
        "host_sees": outer,
        "child_view": own_view,
    }
    if inner != prefix + "/" or not outer.endswith("/" + ctx.name()):
        return failed(f"child sees {inner!r}, host sees {outer!r}", **evidence)
    return passed(f"child sees {inner!r}, host sees {outer!r}", **evidence)


# --- the namespace API and tools -------------------------------------------------------------

_KNOWN_TYPES = (
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
)


@probe(
    "ns.api.inventory",
    title="namespace inventory: /proc/self/ns and namespace limits",
    item="namespace-management-tools",
    since="3.0",
    config=("CONFIG_NAMESPACES",),
    needs_root=False,
)
def api_inventory(ctx: ProbeContext) -> Verdict:
    """Pass: /proc/self/ns is readable and every link reads "type:[inode]"; reports present
    and missing types and every /proc/sys/user/max_*_namespaces limit that is 0."""
    with introducing("/proc/self/ns"):
        names = sorted(os.listdir("/proc/self/ns"))
    links = {name: os.readlink(f"/proc/self/ns/{name}") for name in names}
    malformed = {
        n: v
        for n, v in links.items()
        if not re.fullmatch(r"[a-z_]+:\[\d+\]", v)
        or v.split(":")[0] != n.removesuffix("_for_children")
    }
    missing = [t for t in _KNOWN_TYPES if t not in links]
    limits = _ns_limits()
    zero = sorted(n for n, v in limits.items() if n.endswith("_namespaces") and v == 0)
    evidence = {"links": links, "missing": missing, "limits": limits, "zero_limits": zero}
    if malformed:
        return failed(f"unexpected ns links {malformed}", **evidence)
    return passed(
        f"{len(links)} namespace links ({' '.join(names)}); missing: "
        f"{' '.join(missing) or 'none'}; zero limits: {' '.join(zero) or 'none'}",
        **evidence,
    )


@probe(
    "ns.api.nsfs_ioctl",
    title="nsfs ioctls: NS_GET_PARENT/USERNS/NSTYPE/OWNER_UID",
    item="namespace-management-tools",
    since="4.11",
    config=("CONFIG_PID_NS", "CONFIG_NET_NS", "CONFIG_USER_NS"),
)
def api_nsfs_ioctl(ctx: ProbeContext) -> Verdict:
    """Pass: a new pid ns's NS_GET_PARENT is the caller's pid ns, its NS_GET_NSTYPE is
    CLONE_NEWPID, its NS_GET_USERNS is the caller's user ns whose NS_GET_OWNER_UID is 0 when
    that is the initial one, and NS_GET_PARENT on the caller's own pid ns is EPERM (outside
    its scope)."""
    with introducing("unshare(CLONE_NEWPID)"):
        unshare(CLONE_NEWPID)

    def init(link: _Link) -> None:
        link.send(os.getpid())
        link.recv()

    child, link = _spawn(init)
    fds: list[int] = []

    def keep(fd: int) -> int:
        fds.append(fd)
        return fd

    try:
        inner_pid = link.recv()
        pidns = keep(os.open(f"/proc/{child.pid}/ns/pid", os.O_RDONLY | os.O_CLOEXEC))
        with introducing("ioctl(NS_GET_PARENT)"):
            parent = keep(fcntl.ioctl(pidns, NS_GET_PARENT))
        with introducing("ioctl(NS_GET_NSTYPE)"):
            nstype = fcntl.ioctl(pidns, NS_GET_NSTYPE)
        # The new pid ns is owned by our user ns, so NS_GET_USERNS stays in scope even when
        # the agent itself runs in a user ns (the host net ns would then answer EPERM).
        userns = keep(fcntl.ioctl(pidns, NS_GET_USERNS))
        with introducing("ioctl(NS_GET_OWNER_UID)"):
            buf = bytearray(4)
            fcntl.ioctl(userns, NS_GET_OWNER_UID, buf, True)
        owner = struct.unpack("I", buf)[0]
        own_pidns = keep(os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC))
        top = _expect_errno(lambda: keep(fcntl.ioctl(own_pidns, NS_GET_PARENT)))
        parent_ino, own_pid_ino = os.fstat(parent).st_ino, _ns_ino("pid")
        userns_ino, own_user_ino = os.fstat(userns).st_ino, _ns_ino("user")
        link.send()
        child.result()
    finally:
        _close(*fds)
        child.finish()
    initial = (read_text("/proc/self/uid_map", "") or "").split() == ["0", "0", "4294967295"]
    evidence = {
        "child_pid_inside": inner_pid,
        "parent_ino": parent_ino,
        "own_pid_ino": own_pid_ino,
        "nstype": hex(nstype),
        "userns_ino": userns_ino,
        "own_user_ino": own_user_ino,
        "owner_uid": owner,
        "initial_userns": initial,
        "top_level_parent": top,
    }
    problems = []
    if parent_ino != own_pid_ino:
        problems.append("NS_GET_PARENT is not the caller's pid ns")
    if nstype != CLONE_NEWPID:
        problems.append(f"NS_GET_NSTYPE {nstype:#x}")
    if userns_ino != own_user_ino:
        problems.append("NS_GET_USERNS is not the caller's user ns")
    if initial and owner != 0:
        problems.append(f"initial user ns owner {owner}")
    if top != "EPERM":
        problems.append(f"NS_GET_PARENT on the own pid ns: {top}")
    if problems:
        return failed("nsfs ioctls wrong: " + "; ".join(problems), **evidence)
    return passed(
        f"parent of the new pid ns is ours (inode {parent_ino}), type "
        f"CLONE_NEWPID, owned by our user ns (owner uid {owner}), top-level "
        "parent EPERM",
        **evidence,
    )


@probe(
    "ns.api.persist_bind_mount",
    title="nsfs: a bind-mounted namespace file outlives its tasks",
    item="namespace-management-tools",
    since="3.0",
    config=("CONFIG_NET_NS", "CONFIG_UTS_NS"),
)
def api_persist_bind_mount(ctx: ProbeContext) -> Verdict:
    """Pass: net and uts namespaces bind-mounted onto files survive their only process; a new
    process joins them with setns() and sees hostname "persisted" and the same net inode."""

    def holder(link: _Link) -> None:
        with introducing("unshare(CLONE_NEWNET|CLONE_NEWUTS)"):
            unshare(CLONE_NEWNET | CLONE_NEWUTS)
        sethostname("persisted")
        link.send("ready")
        link.recv()  # killed here

    files: list[str] = []
    holder_child = joiner = None
    with _private_mounts():  # the binds never reach the host mount table
        scratch = ctx.scratch()
        try:
            holder_child, link = _spawn(holder)
            link.recv()
            holder_net = _ns_ino("net", holder_child.pid)
            for kind in ("net", "uts"):
                path = os.path.join(scratch, kind)
                with open(path, "w"):
                    pass
                files.append(path)
                mount(f"/proc/{holder_child.pid}/ns/{kind}", path, None, MS_BIND)
            holder_status = holder_child.wait(0)  # kills and reaps: no process is left in it
            bound_net = os.stat(files[0]).st_ino

            def join() -> dict[str, Any]:
                for path, nstype in zip(files, (CLONE_NEWNET, CLONE_NEWUTS), strict=True):
                    fd = os.open(path, os.O_RDONLY)
                    setns(fd, nstype)
                    os.close(fd)
                return {"hostname": os.uname().nodename, "net": _ns_ino("net")}

            joiner = Child(join)
            joined = joiner.result()
        finally:
            _finish(joiner, holder_child)
            _detach(*files)
    evidence = {
        "holder_net_ino": holder_net,
        "bound_net_ino": bound_net,
        "joined_net_ino": joined["net"],
        "hostname": joined["hostname"],
        "holder_exit": os.WTERMSIG(holder_status)
        if os.WIFSIGNALED(holder_status)
        else os.waitstatus_to_exitcode(holder_status),
    }
    if joined["hostname"] != "persisted" or not holder_net == bound_net == joined["net"]:
        return failed(
            f"joined hostname {joined['hostname']!r}, net inodes {holder_net}/"
            f"{bound_net}/{joined['net']}",
            **evidence,
        )
    return passed(
        f"after the holder was killed, setns through the bind mounts gave hostname "
        f"'persisted' and net inode {holder_net}",
        **evidence,
    )


def _tool(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL, check=False
    )


def _tool_failure(result: subprocess.CompletedProcess[str], what: str) -> Verdict:
    """A tool that exited non-zero: kernel refusals keep their meaning, the rest is skipped."""
    err = result.stderr.strip()
    evidence = {"command": what, "returncode": result.returncode, "stderr": err[-500:]}
    if "Operation not permitted" in err:
        return denied(f"{what}: {err}", **evidence)
    if "No space left on device" in err:
        return disabled(f"{what}: {err}", **evidence)
    return skipped(f"{what} could not run: {err or result.returncode}", **evidence)


@probe(
    "ns.api.util_linux_tools",
    title="util-linux: unshare(1), nsenter(1) and lsns(8)",
    item="namespace-management-tools",
    since="3.8",
    config=("CONFIG_PID_NS", "CONFIG_NET_NS", "CONFIG_UTS_NS"),
)
def api_util_linux_tools(ctx: ProbeContext) -> Verdict:
    """Pass: `unshare --fork --pid --mount-proc --net --uts` runs sh as pid 1 seeing at most
    3 pids and only lo; `nsenter -t <holder> -u -n` shows the holder's hostname and only lo;
    `lsns -J -t net` lists the holder in its net namespace."""
    tools = {name: shutil.which(name) for name in ("unshare", "nsenter", "lsns")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        raise skipped(f"util-linux tools missing: {' '.join(missing)}", missing=missing)
    match = re.search(r"util-linux (\S+)", _tool(["unshare", "--version"]).stdout)
    version = match.group(1) if match else None
    script = "echo $$; ls /proc | grep -c '^[0-9]'; tail -n +3 /proc/net/dev | cut -d: -f1"
    command = ["unshare", "--fork", "--pid", "--mount-proc", "--net", "--uts", "sh", "-c", script]
    ran = _tool(command)
    if ran.returncode != 0:
        raise _tool_failure(ran, "unshare")
    out = ran.stdout.split()
    shell_pid, pids, ifaces = out[0], int(out[1]), out[2:]

    def holder(link: _Link) -> None:
        with introducing("unshare(CLONE_NEWUTS|CLONE_NEWNET)"):
            unshare(CLONE_NEWUTS | CLONE_NEWNET)
        sethostname("probe-nsenter")
        link.send("ready")
        link.recv()

    child, link = _spawn(holder)
    try:
        link.recv()
        entered = _tool(
            [
                "nsenter",
                "-t",
                str(child.pid),
                "-u",
                "-n",
                "sh",
                "-c",
                "hostname; tail -n +3 /proc/net/dev | cut -d: -f1",
            ]
        )
        listed = _tool(["lsns", "-J", "-t", "net", "-o", "NS,PID"])
        holder_net = _ns_ino("net", child.pid)
        link.send()
        child.result()
    finally:
        child.finish()
    if entered.returncode != 0:
        raise _tool_failure(entered, "nsenter")
    if listed.returncode != 0:
        raise _tool_failure(listed, "lsns")
    entered_out = entered.stdout.split()
    rows = json.loads(listed.stdout).get("namespaces", [])
    holder_listed = any(
        str(r.get("ns")) == str(holder_net) and str(r.get("pid")) == str(child.pid) for r in rows
    )
    evidence = {
        "util_linux": version,
        "unshare_sh_pid": shell_pid,
        "unshare_pids": pids,
        "unshare_ifaces": ifaces,
        "nsenter_out": entered_out,
        "holder_net_ino": holder_net,
        "lsns_holder_listed": holder_listed,
    }
    problems = []
    if shell_pid != "1" or pids > 3 or ifaces != ["lo"]:
        problems.append(f"unshare: $$={shell_pid}, {pids} pids, interfaces {ifaces}")
    if entered_out != ["probe-nsenter", "lo"]:
        problems.append(f"nsenter printed {entered_out}")
    if not holder_listed:
        problems.append("lsns did not list the holder")
    if problems:
        return failed("util-linux tools misbehaved: " + "; ".join(problems), **evidence)
    return passed(
        f"util-linux {version}: unshare gave sh pid 1 with {pids} pids "
        "and only lo, nsenter saw the holder's hostname and lo, lsns listed the holder",
        **evidence,
    )


# --- setns -----------------------------------------------------------------------------------


def _uts_net_ipc_holder(link: _Link) -> None:
    with introducing("unshare(CLONE_NEWUTS|CLONE_NEWNET|CLONE_NEWIPC)"):
        unshare(CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWIPC)
    sethostname("probe-setns")
    link.send("ready")
    link.recv()


_TRIO = ("uts", "net", "ipc")


@probe(
    "ns.setns.nsfd",
    title="setns(2) with namespace file descriptors",
    item="namespace-entering",
    since="3.0",
    config=("CONFIG_NET_NS", "CONFIG_UTS_NS", "CONFIG_IPC_NS"),
)
def setns_nsfd(ctx: ProbeContext) -> Verdict:
    """Pass: setns(netfd, CLONE_NEWUTS) is EINVAL (type mismatch); setns with the matching
    type (or 0) moves the caller into the holder's uts, net and ipc namespaces."""
    child, link = _spawn(_uts_net_ipc_holder)
    fds: dict[str, int] = {}
    try:
        link.recv()
        with introducing(f"/proc/{child.pid}/ns"):
            for kind in _TRIO:
                fds[kind] = os.open(f"/proc/{child.pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC)
        holder = {kind: _ns_ino(kind, child.pid) for kind in _TRIO}
        with introducing("setns(2)"):
            setns(fds["uts"], CLONE_NEWUTS)
        mismatch = _expect_errno(lambda: setns(fds["net"], CLONE_NEWUTS))
        setns(fds["net"], 0)
        setns(fds["ipc"], CLONE_NEWIPC)
        joined = {kind: _ns_ino(kind) for kind in _TRIO}
        hostname = os.uname().nodename
        link.send()
        child.result()
    finally:
        _close(*fds.values())
        child.finish()
    evidence = {"mismatch": mismatch, "hostname": hostname, "holder": holder, "joined": joined}
    if mismatch != "EINVAL" or hostname != "probe-setns" or joined != holder:
        return failed(
            f"mismatch gave {mismatch}, hostname {hostname!r}, joined {joined} vs holder {holder}",
            **evidence,
        )
    return passed(
        "type mismatch EINVAL; joined the holder's uts (hostname probe-setns), net "
        "and ipc namespaces",
        **evidence,
    )


@probe(
    "ns.setns.pidfd_multi",
    title="setns(2) with a pidfd: several namespaces at once",
    item="namespace-entering",
    since="5.8",
    config=("CONFIG_NET_NS", "CONFIG_UTS_NS", "CONFIG_IPC_NS"),
)
def setns_pidfd_multi(ctx: ProbeContext) -> Verdict:
    """Pass: one setns(pidfd, CLONE_NEWUTS|CLONE_NEWNET|CLONE_NEWIPC) leaves all three of the
    caller's inodes equal to the holder's."""
    child, link = _spawn(_uts_net_ipc_holder)
    pidfd = -1
    try:
        link.recv()
        holder = {kind: _ns_ino(kind, child.pid) for kind in _TRIO}
        before = {kind: _ns_ino(kind) for kind in _TRIO}
        with introducing("pidfd_open(2)"):
            pidfd = os.pidfd_open(child.pid)
        with introducing("setns(pidfd)"):
            setns(pidfd, CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWIPC)
        joined = {kind: _ns_ino(kind) for kind in _TRIO}
        link.send()
        child.result()
    finally:
        _close(pidfd)
        child.finish()
    evidence = {"holder": holder, "before": before, "joined": joined}
    if joined != holder or any(before[k] == holder[k] for k in _TRIO):
        return failed(f"after setns(pidfd) inodes {joined}, holder {holder}", **evidence)
    return passed("one setns(pidfd) joined the holder's uts, net and ipc namespaces", **evidence)


@probe(
    "ns.setns.pid_mnt_user",
    title="setns(2) into pid, mount and user namespaces",
    item="namespace-entering",
    since="3.8",
    config=("CONFIG_PID_NS", "CONFIG_USER_NS"),
)
def setns_pid_mnt_user(ctx: ProbeContext) -> Verdict:
    """Pass: a host process sees the holder's tmpfs marker only after setns(CLONE_NEWNS);
    after setns(CLONE_NEWPID) its own pid ns is unchanged, pid_for_children is the target
    and its next child is pid 2 there; a root process joining a user ns mapped
    "0 100000 1000" is the overflow uid with every capability in it."""
    scratch = ctx.scratch()
    marker = os.path.join(scratch, "marker")

    def joiner(link: _Link) -> dict[str, Any]:
        target = link.recv()
        seen_before = os.path.exists(marker)
        mntfd = os.open(f"/proc/{target}/ns/mnt", os.O_RDONLY)
        pidfd = os.open(f"/proc/{target}/ns/pid", os.O_RDONLY)
        own_before = _ns_link("pid")
        setns(mntfd, CLONE_NEWNS)
        seen_after = os.path.exists(marker)
        setns(pidfd, CLONE_NEWPID)
        grandchild = Child(lambda: {"pid": os.getpid(), "nspid": _status_field("NSpid")})
        try:
            born = grandchild.result()
        finally:
            grandchild.finish()
        return {
            "before": seen_before,
            "after": seen_after,
            "own_before": own_before,
            "own_after": _ns_link("pid"),
            "for_children": _ns_link("pid_for_children"),
            "grandchild": born,
        }

    def init(link: _Link) -> None:  # pid 1 of the target pid namespace
        unshare(CLONE_NEWNS)
        make_mounts_private()
        mount("tmpfs", scratch, "tmpfs", 0, "size=64k")
        with open(marker, "w"):
            pass
        link.send(os.getpid())
        link.recv()

    def userns_holder(link: _Link) -> None:
        _new_userns()
        link.send("ready")
        link.recv()

    def user_joiner(pid: int) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY)
            setns(fd, CLONE_NEWUSER)
            return {"uid": os.getuid(), "gid": os.getgid(), "cap_eff": _cap_eff()}

        return run

    join = init_child = user_holder = user_join = None
    try:
        # Both helpers that must stay in the host pid namespace are forked first.
        join, join_link = _spawn(joiner)
        user_holder, user_link = _spawn(userns_holder)
        with introducing("unshare(CLONE_NEWPID)"):
            unshare(CLONE_NEWPID)
        init_child, init_link = _spawn(init)
        init_pid_inside = init_link.recv()
        target_pid_ns = _ns_link("pid", init_child.pid)
        join_link.send(init_child.pid)
        mnt_pid = join.result()
        user_link.recv()
        _map_ids(user_holder.pid, "0 100000 1000")
        user_join = Child(user_joiner(user_holder.pid))
        user = user_join.result()
    finally:
        _finish(user_join, join, user_holder, init_child)
    full = _full_caps()
    evidence = {
        "init_pid_inside": init_pid_inside,
        "target_pid_ns": target_pid_ns,
        "marker_before": mnt_pid["before"],
        "marker_after": mnt_pid["after"],
        "own_pid_ns_before": mnt_pid["own_before"],
        "own_pid_ns_after": mnt_pid["own_after"],
        "pid_for_children": mnt_pid["for_children"],
        "grandchild": mnt_pid["grandchild"],
        "userns_uid": user["uid"],
        "userns_gid": user["gid"],
        "userns_cap_eff": f"{user['cap_eff']:016x}",
    }
    problems = []
    if mnt_pid["before"] or not mnt_pid["after"]:
        problems.append(f"marker visible before {mnt_pid['before']} after {mnt_pid['after']}")
    if mnt_pid["own_after"] != mnt_pid["own_before"]:
        problems.append("setns(CLONE_NEWPID) changed the caller's own pid ns")
    if mnt_pid["for_children"] != target_pid_ns or mnt_pid["grandchild"]["pid"] != 2:
        problems.append(
            f"next child is pid {mnt_pid['grandchild']['pid']} in "
            f"{mnt_pid['for_children']}, target {target_pid_ns}"
        )
    if user["uid"] != _overflow_uid() or user["cap_eff"] != full:
        problems.append(f"in the user ns uid {user['uid']} CapEff {user['cap_eff']:x}")
    if problems:
        return failed("setns into pid/mnt/user misbehaved: " + "; ".join(problems), **evidence)
    return passed(
        f"marker seen only after setns(mnt); own pid ns kept, next child pid 2 in "
        f"{target_pid_ns}; user ns join gave uid {user['uid']} with CapEff {full:x}",
        **evidence,
    )
