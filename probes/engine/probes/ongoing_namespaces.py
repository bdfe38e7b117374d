"""Roadmap group 1, "completion of ongoing namespaces": pid, net, uts, ipc and mount namespaces,
shared subtrees, read-only bind mounts and the new mount API (catalogue section 2).

Every probe runs in its own disposable forked process (the runner's), so a probe may unshare
namespaces in itself; where the host's view must be compared with the namespace's, the
namespace lives in a second-level ``Child`` and the probe process stays outside. Namespaces,
the mounts made inside them, the SysV segment and the veth pair all die with the probe's
processes; the only host-visible things are the ``/tmp/probe_*`` scratch directories, which
are registered with the runner before they exist and removed here as well.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
from collections.abc import Callable
from typing import Any

from ..catalogue import probe
from ..context import ProbeContext
from ..process import Child, ChildError, Gate
from ..results import Status
from ..syscalls import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    MNT_DETACH,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SHARED,
    MS_SLAVE,
    MountAttr,
    make_mounts_private,
    mount,
    sethostname,
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

# Seconds any single handshake may take; well inside every probe's deadline.
_WAIT = 3.0

CAP_SYS_ADMIN = 21
MAX_PID_NS_LEVEL = 32  # include/linux/pid_namespace.h

# <linux/sockios.h>, <net/if.h>
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
SIOCSIFNETMASK = 0x891C
IFF_UP = 0x1
_IFREQ_SIZE = 40  # struct ifreq on 64-bit: 16-byte name + 24-byte union

# <linux/ipc.h>
IPC_CREAT = 0o1000
SHM_KEY = 0x50524F42  # "PROB"

# <linux/mount.h>, <fcntl.h>
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
FSOPEN_CLOEXEC = 0x1
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
FSMOUNT_CLOEXEC = 0x1
MOVE_MOUNT_F_EMPTY_PATH = 0x4
OPEN_TREE_CLONE = 0x1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOUNT_ATTR_RDONLY = 0x1


# --- helpers ------------------------------------------------------------------------------------


def _need_ns(*kinds: str) -> None:
    """A namespace type missing from /proc/self/ns makes the probe unsupported."""
    missing = [kind for kind in kinds if not os.path.exists(f"/proc/self/ns/{kind}")]
    if missing:
        raise unsupported(
            f"/proc/self/ns has no {', '.join(missing)} entry: this kernel lacks the namespace",
            missing=missing,
        )


def _cap_effective(cap: int) -> bool:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def _seccomp_mode() -> str | None:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Seccomp:"):
                return line.split()[1]
    return None


def _enter(flags: int, label: str) -> None:
    """unshare(flags), the call that introduces the namespace type.

    EINVAL/ENOSYS there mean the kernel lacks it, ENOSPC a namespace limit. EPERM is
    ambiguous: without CAP_SYS_ADMIN it is privilege (denied); with it, no sysctl can refuse
    these namespace types, so a policy layer (seccomp filter, LSM) did: disabled.
    """
    what = f"unshare({label})"
    try:
        with introducing(what):
            unshare(flags)
    except Verdict as verdict:
        if verdict.status is not Status.DENIED:
            raise
        name = verdict.evidence.get("errno")
        if _cap_effective(CAP_SYS_ADMIN):
            mode = _seccomp_mode()
            raise disabled(
                f"{what}: {name} although CAP_SYS_ADMIN is effective, so a policy "
                f"(seccomp mode {mode} or an LSM) refuses it",
                errno=name,
                seccomp=mode,
            ) from None
        raise denied(f"{what}: {name} without CAP_SYS_ADMIN", errno=name) from None


def _nspid(pid: int | str) -> list[int] | None:
    """The NSpid line of /proc/<pid>/status (None on kernels before 4.1)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(p) for p in line.split()[1:]]
    return None


def _ns_inode(kind: str, pid: int | str = "self") -> int:
    return os.stat(f"/proc/{pid}/ns/{kind}").st_ino


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mountinfo() -> dict[str, dict[str, Any]]:
    """This process's mount table keyed by mount point (the topmost mount wins)."""
    table: dict[str, dict[str, Any]] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            dash = fields.index("-")
            table[_unescape(fields[4])] = {
                "options": fields[5],
                "tags": fields[6:dash],
                "fstype": fields[dash + 1],
            }
    return table


def _try_create(path: str) -> str:
    """open(O_WRONLY|O_CREAT): "ok" or the errno name."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as err:
        return errno_name(err)
    os.close(fd)
    return "ok"


def _write_file(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _read_file(path: str) -> str:
    with open(path) as f:
        return f.read()


class _Held:
    """A child that looks at its own namespaces, reports, and keeps them alive.

    ``body`` runs in the child and returns a small JSON-able dict (it travels through a pipe
    in one atomic write, so well under 4 KiB). The child then waits until the parent has
    looked from outside (``release``), runs ``after`` if given, and returns its value. Errors
    in the child (OSError errno, Verdict) are re-raised in the parent by ``seen``.
    """

    def __init__(
        self, body: Callable[[], dict[str, Any]], after: Callable[[], Any] | None = None
    ) -> None:
        self._report, self._release = Gate(), Gate()

        def inside() -> Any:
            try:
                seen = body()
            except BaseException:
                self._report.open(b"!")  # wake the parent; the error follows on the channel
                raise
            self._report.open(json.dumps(seen).encode())
            self._release.wait(_WAIT)
            return after() if after is not None else seen

        self.child = Child(inside)

    def seen(self) -> dict[str, Any]:
        raw = self._report.wait(_WAIT)
        if raw == b"!":
            self.child.result(_WAIT)  # re-raises the child's error
            raise ChildError("child reported a failure but returned normally")
        return json.loads(raw)

    def release(self) -> Any:
        self._release.open()
        return self.child.result(_WAIT)

    def finish(self) -> None:
        self.child.finish()
        self._report.close()
        self._release.close()


# --- pid namespace ------------------------------------------------------------------------------


@probe(
    "ns.pid.isolation",
    title="PID namespace: the first child is pid 1 with no visible parent",
    item="pid-namespace",
    since="3.8",
    config=("CONFIG_PID_NS",),
    timeout=5.0,
)
def pid_isolation(ctx: ProbeContext) -> Verdict:
    """Pass: after unshare(CLONE_NEWPID) the forked child sees getpid()==1 and getppid()==0,
    and the host sees it as NSpid "<hostpid> 1" in a pid namespace other than its own."""
    _need_ns("pid")
    host_ns = _ns_inode("pid")
    _enter(CLONE_NEWPID, "CLONE_NEWPID")
    child = Child(lambda: {"pid": os.getpid(), "ppid": os.getppid(), "ns": _ns_inode("pid")})
    try:
        seen = child.result(_WAIT)
        nspid = _nspid(child.pid)  # the zombie keeps its pids until reaped
    finally:
        child.finish()
    evidence = {**seen, "host_pid": child.pid, "nspid": nspid, "host_ns": host_ns}
    problems = []
    if seen["pid"] != 1:
        problems.append(f"child saw pid {seen['pid']}")
    if seen["ppid"] != 0:
        problems.append(f"child saw ppid {seen['ppid']}")
    if seen["ns"] == host_ns:
        problems.append("child stayed in the host pid namespace")
    if nspid is not None and nspid != [child.pid, 1]:
        problems.append(f"NSpid is {nspid}")
    if nspid is None and child.pid == 1:  # before 4.1: only the host pid can be compared
        problems.append("the host sees the child as pid 1 too")
    if problems:
        return failed("; ".join(problems), **evidence)
    shown = " ".join(map(str, nspid)) if nspid else f"unavailable (host pid {child.pid})"
    return passed(f"child saw pid 1 and ppid 0; NSpid {shown}", **evidence)


@probe(
    "ns.pid.init_semantics",
    title="PID namespace: init reaps orphans, ignores its own SIGKILL, takes members with it",
    item="pid-namespace",
    since="3.8",
    config=("CONFIG_PID_NS", "CONFIG_PROC_CHILDREN"),
    timeout=5.0,
)
def pid_init_semantics(ctx: ProbeContext) -> Verdict:
    """Pass: an orphaned grandchild is re-parented to the namespace's init (ppid 1, listed in
    init's /proc children on the host), init survives kill(1, SIGKILL) sent by itself, and
    SIGKILL from the ancestor namespace kills init and every member."""
    _need_ns("pid")
    _enter(CLONE_NEWPID, "CLONE_NEWPID")
    report_r, report_w = os.pipe()  # init -> probe: what it observed
    hold_r, hold_w = os.pipe()  # never written: reading it blocks until the ns dies

    def init() -> None:
        os.close(report_r)
        orphan_r, orphan_w = os.pipe()
        go = Gate()
        first = os.fork()
        if first == 0:  # A: fork B, then exit so that B is orphaned
            try:
                os.close(report_w)
                if os.fork() == 0:  # B
                    try:
                        go.wait(_WAIT)  # A is gone and reaped: B has been re-parented
                        info = {"ppid": os.getppid(), "nspid": _nspid("self")}
                        os.write(orphan_w, json.dumps(info).encode())
                        os.read(hold_r, 1)
                    finally:
                        os._exit(0)
            finally:
                os._exit(0)
        os.waitpid(first, 0)
        go.open()
        ready, _, _ = select.select([orphan_r], [], [], _WAIT)
        if not ready:
            raise TimeoutError("the orphan did not report")
        orphan = json.loads(os.read(orphan_r, 4096))
        # From inside its own namespace init is unkillable: the signal is dropped. Were it
        # delivered, this process would end right here and the probe would see it.
        os.kill(1, signal.SIGKILL)
        os.write(report_w, json.dumps({"orphan": orphan, "survived": True}).encode())
        os.read(hold_r, 1)

    child = Child(init)
    os.close(report_w)
    try:
        ready, _, _ = select.select([report_r], [], [], _WAIT)
        raw = os.read(report_r, 4096) if ready else b""
        if not raw:
            try:
                child.result(_WAIT)  # init's own error, if it raised one
            except ChildError:
                status = child.wait(_WAIT)
                if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                    return failed("init of the new pid namespace was killed by its own SIGKILL")
                raise
            raise ChildError("init ended without reporting")
        seen = json.loads(raw)
        orphan = seen["orphan"]
        orphan_host = orphan["nspid"][0] if orphan["nspid"] else None
        try:
            children_file = f"/proc/{child.pid}/task/{child.pid}/children"
            init_children = [int(p) for p in _read_file(children_file).split()]
        except FileNotFoundError:  # CONFIG_PROC_CHILDREN off: the orphan's ppid must do
            init_children = None
        orphan_fd = os.pidfd_open(orphan_host) if orphan_host else None
        try:
            os.kill(child.pid, signal.SIGKILL)
            status = child.wait(_WAIT)
            init_killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            member_gone = None
            if orphan_fd is not None:
                # Readable once the member has exited; init's exit waits for all members.
                member_gone = bool(select.select([orphan_fd], [], [], _WAIT)[0])
        finally:
            if orphan_fd is not None:
                os.close(orphan_fd)
    finally:
        child.finish()
        for fd in (report_r, hold_r, hold_w):
            os.close(fd)
    evidence = {
        "init_host_pid": child.pid,
        "orphan_ppid": orphan["ppid"],
        "orphan_nspid": orphan["nspid"],
        "init_children": init_children,
        "init_survived_self_sigkill": seen["survived"],
        "init_killed_from_host": init_killed,
        "member_gone": member_gone,
    }
    problems = []
    if orphan["ppid"] != 1:
        problems.append(f"the orphan's ppid is {orphan['ppid']}, not 1")
    if None not in (init_children, orphan_host) and orphan_host not in init_children:
        problems.append(f"init's children on the host are {init_children}")
    if not init_killed:
        problems.append("SIGKILL from the host did not kill init")
    if member_gone is False:
        problems.append("the member outlived its init")
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(
        "orphan re-parented to init (ppid 1), init survived its own SIGKILL, "
        "member died with init when killed from the host",
        **evidence,
    )


@probe(
    "ns.pid.proc_mount",
    title="PID namespace: a proc mounted inside shows only the namespace",
    item="pid-namespace",
    since="3.8",
    config=("CONFIG_PID_NS", "CONFIG_PROC_FS"),
    timeout=5.0,
)
def pid_proc_mount(ctx: ProbeContext) -> Verdict:
    """Pass: a proc mounted by the new namespace's init lists only pid 1 and /proc/self -> 1."""
    _need_ns("pid", "mnt")
    _enter(CLONE_NEWPID | CLONE_NEWNS, "CLONE_NEWPID|CLONE_NEWNS")
    make_mounts_private()

    def inside() -> dict[str, Any]:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        pids = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
        # Not "self": evidence travels as keyword arguments of Verdict.__init__.
        return {"pids": pids, "proc_self": os.readlink("/proc/self")}

    child = Child(inside)
    try:
        seen = child.result(_WAIT)
    finally:
        child.finish()
        # The mount is in this process's private namespace; restore its own /proc view.
        with contextlib.suppress(OSError):
            umount("/proc", MNT_DETACH)
    if seen["pids"] != [1] or seen["proc_self"] != "1":
        return failed(
            f"proc inside lists pids {seen['pids']}, /proc/self -> {seen['proc_self']}", **seen
        )
    return passed("proc mounted inside lists pids [1] and /proc/self -> 1", **seen)


@probe(
    "ns.pid.nesting_limit",
    title="PID namespace: nesting stops at 32 levels",
    item="pid-namespace",
    since="3.8",
    config=("CONFIG_PID_NS",),
    timeout=5.0,
)
def pid_nesting_limit(ctx: ProbeContext) -> Verdict:
    """Pass: a chain of unshare(CLONE_NEWPID)+fork reaches level 32 with 33 NSpid entries (as
    seen from the host's proc), and one more unshare(CLONE_NEWPID) fails with ENOSPC (EUSERS on
    3.11-4.8)."""
    _need_ns("pid")
    own = _nspid("self")
    start = len(own) - 1 if own else 0  # the probe's own level (0 on the host)
    if start >= MAX_PID_NS_LEVEL:
        return failed(f"the probe already runs at pid namespace level {start}", start_level=start)
    _enter(CLONE_NEWPID, "CLONE_NEWPID")

    def chain() -> dict[str, Any]:
        # Runs as the level start+1 init. Each level forks the next and waits for it; the
        # forked copy carries on down this same loop, so the deepest level returns from
        # here and its value travels over the channel every level inherited.
        level = start + 1
        while level < MAX_PID_NS_LEVEL:
            try:
                unshare(CLONE_NEWPID)
            except OSError as err:
                return {"level": level, "stopped": errno_name(err)}
            pid = os.fork()
            if pid:
                os.waitpid(pid, 0)
                os._exit(0)
            level += 1
        entries = _nspid("self")
        try:
            unshare(CLONE_NEWPID)
            extra = "ok"
        except OSError as err:
            extra = errno_name(err)
        return {"level": level, "nspid_entries": len(entries or []), "extra": extra}

    child = Child(chain)
    try:
        seen = child.result(_WAIT)
    finally:
        child.finish()
    evidence = {"start_level": start, **seen}
    if "stopped" in seen:
        if seen["stopped"] in ("ENOSPC", "EUSERS"):
            return disabled(
                f"unshare(CLONE_NEWPID) failed with {seen['stopped']} at level {seen['level']}, "
                "before the nesting limit: user.max_pid_namespaces is exhausted",
                **evidence,
            )
        raise verdict_from_oserror(
            OSError(getattr(errno, seen["stopped"], 0), seen["stopped"]),
            f"unshare(CLONE_NEWPID) at level {seen['level']}",
        )
    want_entries = (len(own) if own else 1) + seen["level"] - start
    if seen["extra"] == "ok":
        return failed(f"a pid namespace at level {seen['level'] + 1} was created", **evidence)
    if seen["extra"] not in ("ENOSPC", "EUSERS") or (own and seen["nspid_entries"] != want_entries):
        return failed(
            f"at level {seen['level']}: {seen['nspid_entries']} NSpid entries "
            f"(wanted {want_entries}), one more unshare gave {seen['extra']}",
            **evidence,
        )
    return passed(
        f"{seen['nspid_entries']} NSpid entries at level {seen['level']}; "
        f"level {seen['level'] + 1} refused with {seen['extra']}",
        **evidence,
    )


# --- net namespace ------------------------------------------------------------------------------


def _ifreq(name: str, payload: bytes = b"") -> bytes:
    return struct.pack("16s", name.encode()) + payload.ljust(_IFREQ_SIZE - 16, b"\0")


def _if_flags(sock: socket.socket, name: str) -> int:
    raw = fcntl.ioctl(sock, SIOCGIFFLAGS, _ifreq(name))
    return struct.unpack_from("H", raw, 16)[0]


def _if_up(sock: socket.socket, name: str) -> None:
    flags = _if_flags(sock, name)
    fcntl.ioctl(sock, SIOCSIFFLAGS, _ifreq(name, struct.pack("H", flags | IFF_UP)))


def _if_address(sock: socket.socket, name: str, address: str, netmask: str) -> None:
    """SIOCSIFADDR + SIOCSIFNETMASK (what `ip addr add` does, without a process)."""
    for request, value in ((SIOCSIFADDR, address), (SIOCSIFNETMASK, netmask)):
        sin = struct.pack("HH4s8x", socket.AF_INET, 0, socket.inet_aton(value))
        fcntl.ioctl(sock, request, _ifreq(name, sin))


def _net_dev_names() -> list[str]:
    """Interface names in /proc/net/dev (of the reader's network namespace)."""
    lines = _read_file("/proc/net/dev").splitlines()[2:]
    return [line.split(":", 1)[0].strip() for line in lines if ":" in line]


@probe(
    "ns.net.isolation",
    title="Network namespace: a new stack with only a down loopback",
    item="net-namespace",
    since="2.6.24",
    config=("CONFIG_NET_NS",),
    timeout=5.0,
)
def net_isolation(ctx: ProbeContext) -> Verdict:
    """Pass: after unshare(CLONE_NEWNET) the only interface is lo (ifindex 1), it is down,
    /proc/net/dev lists only lo, and /proc/self/ns/net has a new inode."""
    _need_ns("net")
    host_ns = _ns_inode("net")
    _enter(CLONE_NEWNET, "CLONE_NEWNET")
    new_ns = _ns_inode("net")
    interfaces = [[index, name] for index, name in socket.if_nameindex()]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        lo_flags = _if_flags(sock, "lo")
    devices = _net_dev_names()
    evidence = {
        "interfaces": interfaces,
        "lo_flags": lo_flags,
        "proc_net_dev": devices,
        "host_ns": host_ns,
        "new_ns": new_ns,
    }
    problems = []
    if interfaces != [[1, "lo"]]:
        problems.append(f"interfaces are {interfaces}")
    if lo_flags & IFF_UP:
        problems.append("lo is up")
    if devices != ["lo"]:
        problems.append(f"/proc/net/dev lists {devices}")
    if new_ns == host_ns:
        problems.append("the net namespace inode did not change")
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(f"only [(1, 'lo')], lo down, new net namespace inode {new_ns}", **evidence)


@probe(
    "ns.net.port_isolation",
    title="Network namespace: ports and loopback are private",
    item="net-namespace",
    since="2.6.24",
    config=("CONFIG_NET_NS",),
    timeout=5.0,
)
def net_port_isolation(ctx: ProbeContext) -> Verdict:
    """Pass: with the host listening on 127.0.0.1:P and :Q, a child in a new net namespace binds
    127.0.0.1:P again, echoes over its own loopback, gets ECONNREFUSED from :Q, and the host
    listeners never see a connection."""
    _need_ns("net")
    listeners = []
    try:
        for _ in range(2):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listeners.append(sock)
            sock.bind(("127.0.0.1", 0))
            sock.listen(4)
            sock.setblocking(False)
        port_p, port_q = (s.getsockname()[1] for s in listeners)

        def inside() -> dict[str, Any]:
            _enter(CLONE_NEWNET, "CLONE_NEWNET")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ctl:
                _if_up(ctl, "lo")
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
                server.bind(("127.0.0.1", port_p))  # EADDRINUSE if the host's port leaked in
                server.listen(1)
                server.settimeout(_WAIT)
                with socket.create_connection(("127.0.0.1", port_p), timeout=_WAIT) as client:
                    conn, _ = server.accept()
                    with conn:
                        conn.settimeout(_WAIT)
                        client.sendall(b"probe-echo")
                        conn.sendall(conn.recv(64))
                        echoed = client.recv(64).decode()
            try:
                socket.create_connection(("127.0.0.1", port_q), timeout=_WAIT).close()
                other = "connected"
            except OSError as err:
                other = errno_name(err)
            return {"echo": echoed, "connect_q": other}

        child = Child(inside)
        try:
            seen = child.result(_WAIT)
        finally:
            child.finish()
        host_saw = []
        for port, sock in zip((port_p, port_q), listeners, strict=True):
            with contextlib.suppress(BlockingIOError):
                sock.accept()[0].close()
                host_saw.append(port)
    finally:
        for sock in listeners:
            sock.close()
    evidence = {"port_p": port_p, "port_q": port_q, **seen, "host_listener_saw": host_saw}
    problems = []
    if seen["echo"] != "probe-echo":
        problems.append(f"echo inside returned {seen['echo']!r}")
    if seen["connect_q"] != "ECONNREFUSED":
        problems.append(f"connect to the host's port {port_q} gave {seen['connect_q']}")
    if host_saw:
        problems.append(f"host listeners on {host_saw} saw a connection")
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(
        f"rebound 127.0.0.1:{port_p} inside, echo ok, host port {port_q} refused, "
        "host listeners untouched",
        **evidence,
    )


@probe(
    "ns.net.veth_pair",
    title="Network namespace: a veth pair joins two namespaces",
    item="net-namespace",
    since="2.6.24",
    config=("CONFIG_NET_NS", "CONFIG_VETH"),
    timeout=5.0,
)
def net_veth_pair(ctx: ProbeContext) -> Verdict:
    """Pass: `ip link add vpa netns A type veth peer name vpb netns B` creates both ends inside
    two throwaway namespaces, 10.213.0.1/30 -> 10.213.0.2/30 carries a TCP echo, and the
    host's /proc/net/dev never lists vpa or vpb."""
    _need_ns("net")
    ip = shutil.which("ip")
    if ip is None:
        return skipped("the ip tool (iproute2) is not installed")
    try:
        version = subprocess.run(
            [ip, "-V"], capture_output=True, text=True, timeout=_WAIT, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as err:
        return skipped(f"the ip tool cannot run: {err}")
    port = 7  # any port: the namespaces are private
    ends = {"a": ("vpa", "10.213.0.1"), "b": ("vpb", "10.213.0.2")}
    baseline = set(_net_dev_names())
    ready = {side: Gate() for side in ends}  # holder -> probe: namespace exists
    linked = {side: Gate() for side in ends}  # probe -> holder: its end exists
    listening = Gate()  # b -> a

    def holder(side: str) -> Callable[[], dict[str, Any]]:
        def inside() -> dict[str, Any]:
            try:
                _enter(CLONE_NEWNET, "CLONE_NEWNET")
            except BaseException:
                ready[side].open(b"!")  # wake the probe; the error follows on the channel
                raise
            ready[side].open()
            linked[side].wait(_WAIT)
            name, address = ends[side]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as ctl:
                _if_address(ctl, name, address, "255.255.255.252")
                _if_up(ctl, name)
            if side == "b":
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
                    server.bind((address, port))
                    server.listen(1)
                    server.settimeout(_WAIT)
                    listening.open()
                    conn, peer = server.accept()
                    with conn:
                        conn.settimeout(_WAIT)
                        conn.sendall(conn.recv(64))
                return {"peer": peer[0], "interfaces": [n for _, n in socket.if_nameindex()]}
            listening.wait(_WAIT)
            with socket.create_connection((ends["b"][1], port), timeout=_WAIT) as client:
                client.sendall(b"probe-veth")
                echoed = client.recv(64).decode()
            return {"echo": echoed, "interfaces": [n for _, n in socket.if_nameindex()]}

        return inside

    holders: dict[str, Child] = {}
    try:
        for side in ends:
            holders[side] = Child(holder(side))
        for side in ends:
            if ready[side].wait(_WAIT) == b"!":
                holders[side].result(_WAIT)  # re-raises the holder's error
        a_pid, b_pid = holders["a"].pid, holders["b"].pid
        command = [ip, *f"link add vpa netns {a_pid} type veth peer name vpb netns {b_pid}".split()]
        made = subprocess.run(command, capture_output=True, text=True, timeout=_WAIT)
        if made.returncode != 0:
            message = made.stderr.strip()
            if "not supported" in message or "Unknown device type" in message:
                return unsupported(f"no veth device: {message}", ip=version, stderr=message)
            if "not permitted" in message:
                return denied(f"ip link add: {message}", ip=version, stderr=message)
            return Verdict(
                Status.ERROR,
                f"ip link add failed: {message}",
                ip=version,
                stderr=message,
                returncode=made.returncode,
            )
        host_during = set(_net_dev_names())
        for side in ends:
            linked[side].open()
        seen_a = holders["a"].result(_WAIT)
        seen_b = holders["b"].result(_WAIT)
        host_after = set(_net_dev_names())
    finally:
        for child in holders.values():
            child.finish()
        for gate in (*ready.values(), *linked.values(), listening):
            gate.close()
    leaked = sorted(((host_during | host_after) - baseline) & {"vpa", "vpb"})
    evidence = {"ip": version, "a": seen_a, "b": seen_b, "host_leaked": leaked}
    problems = []
    if seen_a["echo"] != "probe-veth":
        problems.append(f"echo over veth returned {seen_a['echo']!r}")
    if seen_b["peer"] != ends["a"][1]:
        problems.append(f"B saw the connection from {seen_b['peer']}")
    if leaked:
        problems.append(f"the host's /proc/net/dev showed {leaked}")
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(
        "TCP echo 10.213.0.1 -> 10.213.0.2 over a veth pair created inside two namespaces; "
        "the host never listed vpa/vpb",
        **evidence,
    )


# --- uts and ipc namespaces ---------------------------------------------------------------------


@probe(
    "ns.uts.isolation",
    title="UTS namespace: a private hostname",
    item="ongoing-namespaces",
    since="2.6.19",
    config=("CONFIG_UTS_NS",),
    timeout=5.0,
)
def uts_isolation(ctx: ProbeContext) -> Verdict:
    """Pass: a child in a new UTS namespace sets and reads back "probe-uts" while the host's
    hostname stays what it was."""
    _need_ns("uts")
    before = _read_file("/proc/sys/kernel/hostname").strip()
    wanted = "probe-uts" if before != "probe-uts" else "probe-uts-2"

    def inside() -> str:
        _enter(CLONE_NEWUTS, "CLONE_NEWUTS")
        sethostname(wanted)
        return os.uname().nodename

    child = Child(inside)
    try:
        inner = child.result(_WAIT)
    finally:
        child.finish()
    after = _read_file("/proc/sys/kernel/hostname").strip()
    evidence = {"inside": inner, "host_before": before, "host_after": after}
    if inner != wanted or after != before:
        return failed(f"inside saw {inner!r}; host hostname {before!r} -> {after!r}", **evidence)
    return passed(f"inside saw {inner!r}, host kept {after!r}", **evidence)


def _shm_keys() -> set[int]:
    """SysV shm keys visible in the reader's IPC namespace."""
    lines = _read_file("/proc/sysvipc/shm").splitlines()[1:]
    return {int(line.split()[0]) for line in lines if line.strip()}


@probe(
    "ns.ipc.isolation",
    title="IPC namespace: SysV objects are private",
    item="ongoing-namespaces",
    since="2.6.19",
    config=("CONFIG_IPC_NS", "CONFIG_SYSVIPC"),
    timeout=5.0,
)
def ipc_isolation(ctx: ProbeContext) -> Verdict:
    """Pass: a shm segment created in a new IPC namespace is listed in its /proc/sysvipc/shm and
    not in the host's, while it exists."""
    _need_ns("ipc")
    host_before = _shm_keys()
    key = SHM_KEY
    while key in host_before:  # someone on the host uses ours: pick a free one
        key += 1

    def inside() -> dict[str, Any]:
        _enter(CLONE_NEWIPC, "CLONE_NEWIPC")
        shmid = syscall("shmget", key, 4096, IPC_CREAT | 0o600)
        return {"shmid": shmid, "visible_inside": key in _shm_keys()}

    held = _Held(inside)
    try:
        seen = held.seen()
        visible_on_host = key in _shm_keys()  # while the segment exists inside
        held.release()
    finally:
        held.finish()
    evidence = {"key": hex(key), **seen, "visible_on_host": visible_on_host}
    if not seen["visible_inside"] or visible_on_host:
        return failed(
            f"segment {hex(key)} visible inside: {seen['visible_inside']}, "
            f"on the host: {visible_on_host}",
            **evidence,
        )
    return passed(f"shm key {hex(key)} (id {seen['shmid']}) visible inside only", **evidence)


# --- mount namespace ----------------------------------------------------------------------------


@probe(
    "ns.mnt.isolation",
    title="Mount namespace: mounts made inside stay inside",
    item="ongoing-namespaces",
    since="2.4.19",
    config=("CONFIG_TMPFS",),
    timeout=5.0,
)
def mnt_isolation(ctx: ProbeContext) -> Verdict:
    """Pass: a tmpfs mounted in a child's private mount namespace shows the child's file there,
    while the host sees an empty directory that is not a mount point."""
    _need_ns("mnt")
    target = ctx.scratch()
    try:

        def inside() -> dict[str, Any]:
            _enter(CLONE_NEWNS, "CLONE_NEWNS")
            make_mounts_private()
            mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700")
            _write_file(os.path.join(target, "made-inside"), "x")
            return {"inside": sorted(os.listdir(target)), "mounted_inside": target in _mountinfo()}

        held = _Held(inside)
        try:
            seen = held.seen()
            host_listing = sorted(os.listdir(target))
            host_mounted = os.path.ismount(target) or target in _mountinfo()
            held.release()
        finally:
            held.finish()
    finally:
        shutil.rmtree(target, ignore_errors=True)
    evidence = {**seen, "host": host_listing, "mounted_on_host": host_mounted}
    if (
        seen["inside"] != ["made-inside"]
        or not seen["mounted_inside"]
        or host_listing
        or host_mounted
    ):
        return failed(
            f"inside saw {seen['inside']}, host saw {host_listing} "
            f"(mount point on the host: {host_mounted})",
            **evidence,
        )
    return passed("child saw its file on its tmpfs; host saw an empty non-mount-point", **evidence)


@probe(
    "ns.mnt.propagation",
    title="Mount namespace: shared and slave subtrees propagate as specified",
    item="ongoing-namespaces",
    since="2.6.15",
    config=("CONFIG_TMPFS",),
    timeout=5.0,
)
def mnt_propagation(ctx: ProbeContext) -> Verdict:
    """Pass: on a shared tmpfs D (inside a private mount namespace), a peer namespace's mount
    D/a appears in the parent, a slave's mount D/b does not, and the parent's mount D/c appears
    in the slave."""
    _need_ns("mnt")
    base = ctx.scratch()
    sub = {name: os.path.join(base, name) for name in "abc"}
    _enter(CLONE_NEWNS, "CLONE_NEWNS")
    make_mounts_private()
    peer = slave = None
    try:
        mount("tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k")
        # D's peer group is born inside this private namespace: nothing can reach the host.
        mount(None, base, None, MS_SHARED)
        for path in sub.values():
            os.mkdir(path)
        parent_tags = _mountinfo()[base]["tags"]

        # The children do NOT make "/" rprivate after unshare(CLONE_NEWNS): that would take
        # their copy of D out of its peer group, which is what is being tested. Their "/" is
        # already private (copied from this namespace), so nothing propagates to the host.
        def peer_body() -> dict[str, Any]:
            _enter(CLONE_NEWNS, "CLONE_NEWNS")
            mount("tmpfs", sub["a"], "tmpfs", MS_NOSUID | MS_NODEV, "size=16k")
            return {"tags": _mountinfo()[base]["tags"]}

        peer = _Held(peer_body)
        peer_seen = peer.seen()
        a_in_parent = sub["a"] in _mountinfo()
        peer.release()

        def slave_body() -> dict[str, Any]:
            _enter(CLONE_NEWNS, "CLONE_NEWNS")
            mount(None, base, None, MS_SLAVE)
            mount("tmpfs", sub["b"], "tmpfs", MS_NOSUID | MS_NODEV, "size=16k")
            return {"tags": _mountinfo()[base]["tags"]}

        slave = _Held(slave_body, after=lambda: {"c_in_slave": sub["c"] in _mountinfo()})
        slave_seen = slave.seen()
        b_in_parent = sub["b"] in _mountinfo()
        mount("tmpfs", sub["c"], "tmpfs", MS_NOSUID | MS_NODEV, "size=16k")
        c_in_slave = slave.release()["c_in_slave"]
    finally:
        for held in (peer, slave):
            if held is not None:
                held.finish()
        with contextlib.suppress(OSError):
            umount(base, MNT_DETACH)
        shutil.rmtree(base, ignore_errors=True)
    evidence = {
        "parent_tags": parent_tags,
        "peer_tags": peer_seen["tags"],
        "slave_tags": slave_seen["tags"],
        "peer_mount_in_parent": a_in_parent,
        "slave_mount_in_parent": b_in_parent,
        "parent_mount_in_slave": c_in_slave,
    }
    if not a_in_parent or b_in_parent or not c_in_slave:
        return failed(
            f"peer->parent {a_in_parent} (want True), slave->parent {b_in_parent} (want False), "
            f"parent->slave {c_in_slave} (want True)",
            **evidence,
        )
    return passed(
        "peer mount propagated to the parent, slave mount did not, parent mount reached the slave",
        **evidence,
    )


@probe(
    "ns.mnt.new_mount_api",
    title="Mount namespace: fsopen/fsmount/move_mount/open_tree",
    item="ongoing-namespaces",
    since="5.2",
    config=("CONFIG_TMPFS",),
    timeout=5.0,
)
def mnt_new_mount_api(ctx: ProbeContext) -> Verdict:
    """Pass: a tmpfs built with fsopen/fsconfig(size=1m)/fsmount and attached with move_mount is
    a 1 MiB tmpfs at t1, and an open_tree(OPEN_TREE_CLONE) of src moved to t2 shows src's
    contents."""
    _need_ns("mnt")
    base = ctx.scratch()
    src, t1, t2 = (os.path.join(base, name) for name in ("src", "t1", "t2"))
    fds: list[int] = []
    try:
        for path in (src, t1, t2):
            os.mkdir(path)
        _write_file(os.path.join(src, "marker"), "probe-open-tree")
        _enter(CLONE_NEWNS, "CLONE_NEWNS")
        make_mounts_private()
        with introducing("fsopen"):
            fds.append(syscall("fsopen", "tmpfs", FSOPEN_CLOEXEC))
        syscall("fsconfig", fds[0], FSCONFIG_SET_STRING, "size", "1m", 0)
        syscall("fsconfig", fds[0], FSCONFIG_CMD_CREATE, None, None, 0)
        fds.append(syscall("fsmount", fds[0], FSMOUNT_CLOEXEC, 0))
        syscall("move_mount", fds[1], "", AT_FDCWD, t1, MOVE_MOUNT_F_EMPTY_PATH)
        fds.append(syscall("open_tree", AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC))
        syscall("move_mount", fds[2], "", AT_FDCWD, t2, MOVE_MOUNT_F_EMPTY_PATH)
        table = _mountinfo()
        t1_type = table.get(t1, {}).get("fstype")
        vfs = os.statvfs(t1)
        t1_bytes = vfs.f_blocks * vfs.f_frsize
        t2_listing = sorted(os.listdir(t2))
        t2_marker = _read_file(os.path.join(t2, "marker")) if "marker" in t2_listing else None
        t2_mounted = t2 in table
    finally:
        for fd in fds:
            os.close(fd)
        for path in (t2, t1):
            with contextlib.suppress(OSError):
                umount(path, MNT_DETACH)
        shutil.rmtree(base, ignore_errors=True)
    evidence = {
        "t1_fstype": t1_type,
        "t1_bytes": t1_bytes,
        "t2_listing": t2_listing,
        "t2_is_mount": t2_mounted,
    }
    if (
        t1_type != "tmpfs"
        or t1_bytes != 1 << 20
        or not t2_mounted
        or t2_marker != "probe-open-tree"
    ):
        return failed(
            f"t1 is {t1_type} of {t1_bytes} bytes; t2 (mount: {t2_mounted}) lists {t2_listing}",
            **evidence,
        )
    return passed(
        "fsmount gave a 1 MiB tmpfs at t1; open_tree clone of src shows its file at t2", **evidence
    )


@probe(
    "ns.mnt.ro_bind",
    title="Read-only bind mounts",
    item="ro-bind-mounts",
    since="2.6.26",
    timeout=5.0,
)
def mnt_ro_bind(ctx: ProbeContext) -> Verdict:
    """Pass: after MS_BIND and MS_REMOUNT|MS_BIND|MS_RDONLY, creating a file through the bind
    fails with EROFS, the source stays writable, its writes show through the bind, and the
    bind's per-mount options in mountinfo start with "ro"."""
    _need_ns("mnt")
    base = ctx.scratch()
    src, dst = os.path.join(base, "src"), os.path.join(base, "dst")
    try:
        os.mkdir(src)
        os.mkdir(dst)
        _enter(CLONE_NEWNS, "CLONE_NEWNS")
        make_mounts_private()
        mount(src, dst, None, MS_BIND)
        mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        via_bind = _try_create(os.path.join(dst, "f"))
        _write_file(os.path.join(src, "f"), "probe-ro-bind")
        shown = _read_file(os.path.join(dst, "f"))
        options = _mountinfo().get(dst, {}).get("options", "")
    finally:
        with contextlib.suppress(OSError):
            umount(dst, MNT_DETACH)
        shutil.rmtree(base, ignore_errors=True)
    evidence = {"create_via_bind": via_bind, "content_via_bind": shown, "options": options}
    if via_bind != "EROFS" or shown != "probe-ro-bind" or not options.startswith("ro"):
        return failed(
            f"create via the bind gave {via_bind}, bind shows {shown!r}, options {options!r}",
            **evidence,
        )
    return passed(
        f"EROFS through the bind, source writable and visible, options {options!r}", **evidence
    )


@probe(
    "ns.mnt.recursive_ro_mount_setattr",
    title="Read-only bind mounts: recursive with mount_setattr",
    item="ro-bind-mounts",
    since="5.12",
    config=("CONFIG_TMPFS",),
    timeout=5.0,
)
def mnt_recursive_ro(ctx: ProbeContext) -> Verdict:
    """Pass: a classic read-only remount of a recursive bind leaves its submount writable,
    mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY) makes the submount EROFS too, and the source
    (top and submount) stays writable."""
    _need_ns("mnt")
    base = ctx.scratch()
    src, dst = os.path.join(base, "src"), os.path.join(base, "dst")
    src_sub, dst_sub = os.path.join(src, "sub"), os.path.join(dst, "sub")
    try:
        os.mkdir(src)
        os.mkdir(dst)
        os.mkdir(src_sub)
        _enter(CLONE_NEWNS, "CLONE_NEWNS")
        make_mounts_private()
        mount("tmpfs", src_sub, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k")
        mount(src, dst, None, MS_BIND | MS_REC)
        mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        classic = {
            "top": _try_create(os.path.join(dst, "classic")),
            "sub": _try_create(os.path.join(dst_sub, "classic")),
        }
        attr = MountAttr(attr_set=MOUNT_ATTR_RDONLY)
        with introducing("mount_setattr"):
            syscall(
                "mount_setattr",
                AT_FDCWD,
                dst,
                AT_RECURSIVE,
                ctypes.byref(attr),
                ctypes.sizeof(attr),
            )
        recursive = {
            "top": _try_create(os.path.join(dst, "recursive")),
            "sub": _try_create(os.path.join(dst_sub, "recursive")),
        }
        source = {
            "top": _try_create(os.path.join(src, "source")),
            "sub": _try_create(os.path.join(src_sub, "source")),
        }
        sub_options = _mountinfo().get(dst_sub, {}).get("options", "")
    finally:
        for path in (dst_sub, dst, src_sub):
            with contextlib.suppress(OSError):
                umount(path, MNT_DETACH)
        shutil.rmtree(base, ignore_errors=True)
    evidence = {
        "classic": classic,
        "recursive": recursive,
        "source": source,
        "sub_options_after": sub_options,
    }
    want = (
        classic == {"top": "EROFS", "sub": "ok"}
        and recursive == {"top": "EROFS", "sub": "EROFS"}
        and source == {"top": "ok", "sub": "ok"}
    )
    if not want:
        return failed(
            f"classic remount: {classic}; mount_setattr: {recursive}; source: {source}",
            **evidence,
        )
    return passed(
        "classic remount left the submount writable, mount_setattr(AT_RECURSIVE) made it "
        "EROFS, source stayed writable",
        **evidence,
    )
