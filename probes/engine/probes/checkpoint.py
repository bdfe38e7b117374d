"""Checkpoint/restart probes (catalogue section 5): the kernel interfaces a
checkpointer such as CRIU is built from, tried one by one, and CRIU itself.

- memory C/R: soft-dirty bits, PAGEMAP_SCAN with async uffd-wp (its
  successor), userfaultfd lazy restore, process_vm_readv/writev,
  /proc/pid/map_files, PR_SET_MM_MAP;
- per-container swap: v1 memory.memsw.* (with a temporary swapfile: intrusive)
  and v2 memory.swap.max;
- checkpoint strategy: cgroup2 freeze + ptrace seize, ptrace, kcmp,
  pidfd_getfd, TCP_REPAIR, CAP_CHECKPOINT_RESTORE;
- restart strategy: ns_last_pid, clone3 set_tid (intrusive: takes one chosen
  host pid), time namespace offsets;
- a full ``criu dump`` / ``criu restore`` round trip.

Every workload runs in a forked child; cgroups come from ``cgroupfs`` (created
under the agent's own cgroup and registered before creation).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import mmap
import os
import platform
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from .. import cgroupfs
from ..catalogue import probe
from ..context import ProbeContext
from ..kernelfiles import read_text, write_once
from ..process import Child, Gate, describe_wait_status
from ..results import Status
from ..syscalls import (
    CLONE_NEWNET,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_KEEPCAPS,
    PR_SET_MM,
    prctl,
    syscall,
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
)

MEMORY = "memory-cr"
SWAP = "per-container-swapfile"
CHECKPOINT = "checkpoint-strategy"
RESTART = "restart-strategy"

PAGE = mmap.PAGESIZE
MiB = 1 << 20

# pagemap entry bits
PM_SOFT_DIRTY = 1 << 55
PM_PRESENT = 1 << 63

# userfaultfd
UFFD_API = 0xAA
UFFD_USER_MODE_ONLY = 1
UFFDIO_API = 0xC018AA3F
UFFDIO_REGISTER = 0xC020AA00
UFFDIO_COPY = 0xC028AA03
UFFDIO_REGISTER_MODE_MISSING = 1
UFFDIO_REGISTER_MODE_WP = 2
UFFD_FEATURE_WP_UNPOPULATED = 1 << 13
UFFD_FEATURE_WP_ASYNC = 1 << 15
UFFD_EVENT_PAGEFAULT = 0x12
UFFD_MSG_SIZE = 32

# PAGEMAP_SCAN (6.7)
PAGEMAP_SCAN = 0xC0606610
PM_SCAN_WP_MATCHING = 1 << 0
PM_SCAN_CHECK_WPASYNC = 1 << 1
PAGE_IS_WRITTEN = 1 << 1

# prctl PR_SET_MM
PR_SET_MM_MAP = 14
PR_SET_MM_MAP_SIZE = 15

# ptrace
PTRACE_DETACH = 17
PTRACE_GETREGSET = 0x4204
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_EVENT_STOP = 128
NT_PRSTATUS = 1
# where the program counter sits in the NT_PRSTATUS register set
_PC_INDEX = {"x86_64": 16, "aarch64": 32}

# kcmp types
KCMP_FILE = 0
KCMP_VM = 1
KCMP_FILES = 2

# TCP repair (linux/tcp.h)
TCP_REPAIR = 19
TCP_REPAIR_QUEUE = 20
TCP_QUEUE_SEQ = 21
TCP_REPAIR_OPTIONS = 22
TCP_REPAIR_WINDOW = 29
TCP_RECV_QUEUE = 1
TCP_SEND_QUEUE = 2
TCPOPT_MAXSEG = 2
TCPOPT_WINDOW = 3
TCPOPT_SACK_PERM = 4
TCPI_OPT_SACK = 2
TCPI_OPT_WSCALE = 4
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

# capabilities
CAP_SYS_ADMIN = 21
CAP_CHECKPOINT_RESTORE = 40
LINUX_CAPABILITY_VERSION_3 = 0x20080522
NOBODY = 65534


# --- small shared helpers --------------------------------------------------------


def u64_fields(names: str) -> list[tuple[str, type]]:
    """ctypes fields of a uapi struct made of __u64 members, in declaration order."""
    return [(name, ctypes.c_uint64) for name in names.split()]


class UffdioApi(ctypes.Structure):
    _fields_ = u64_fields("api features ioctls")


class UffdioRegister(ctypes.Structure):
    _fields_ = u64_fields("start len mode ioctls")  # struct uffdio_range inlined


class UffdioCopy(ctypes.Structure):
    _fields_ = [*u64_fields("dst src len mode"), ("copy", ctypes.c_int64)]


class PmScanArg(ctypes.Structure):
    _fields_ = u64_fields(
        "size flags start end walk_end vec vec_len max_pages category_inverted category_mask "
        "category_anyof_mask return_mask"
    )


class PageRegion(ctypes.Structure):
    _fields_ = u64_fields("start end categories")


class PrctlMmMap(ctypes.Structure):
    _fields_ = [
        *u64_fields(
            "start_code end_code start_data end_data start_brk brk start_stack arg_start "
            "arg_end env_start env_end auxv"
        ),
        ("auxv_size", ctypes.c_uint32),
        ("exe_fd", ctypes.c_uint32),
    ]


class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class CloneArgs(ctypes.Structure):
    _fields_ = u64_fields(
        "flags pidfd child_tid parent_tid exit_signal stack stack_size tls set_tid "
        "set_tid_size cgroup"
    )


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]


# Our own handle: setting restype on the shared one in syscalls would affect others.
_libc = ctypes.CDLL(None, use_errno=True)
_libc.ioctl.restype = ctypes.c_int
_libc.sbrk.restype = ctypes.c_void_p


def ioctl(fd: int, request: int, arg: ctypes.Structure) -> int:
    """ioctl with a ctypes struct (fcntl.ioctl cannot hold pointers inside one)."""
    ret = _libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(request), ctypes.byref(arg))
    if ret == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"ioctl {request:#x}: {os.strerror(err)}")
    return ret


def address_of(area: mmap.mmap) -> int:
    # The exported buffer pins the mapping; probes never close or resize it.
    return ctypes.addressof(ctypes.c_char.from_buffer(area))


def anon_pages(count: int) -> mmap.mmap:
    return mmap.mmap(-1, count * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)


def touch(area: mmap.mmap, value: int = 1) -> None:
    """Write one byte in every page so each one is really allocated (and charged)."""
    for offset in range(0, len(area), PAGE):
        area[offset] = value


def vma_flags(address: int) -> list[str]:
    """The VmFlags of the mapping starting at ``address`` (from /proc/self/smaps)."""
    start = f"{address:x}-"
    inside = False
    with open("/proc/self/smaps") as f:
        for line in f:
            if line.startswith(start):
                inside = True
            elif inside and line.startswith("VmFlags:"):
                return line.split()[1:]
    return []


def stat_fields(pid: int | str = "self") -> list[str]:
    """/proc/<pid>/stat split after the command name: index 0 is field 3 (state)."""
    with open(f"/proc/{pid}/stat") as f:
        raw = f.read()
    return raw[raw.rindex(")") + 2 :].split()


def stat_field(fields: list[str], number: int) -> int:
    """Field ``number`` as proc(5) numbers them (1-based)."""
    return int(fields[number - 3])


def proc_state(pid: int) -> str:
    return stat_fields(pid)[0]


def unshare_new(flag: int, what: str, limit: str) -> None:
    """unshare() a namespace type for the first time in this probe.

    EINVAL/ENOSYS: the kernel lacks it (unsupported); ENOSPC: the per-user-namespace
    limit ``/proc/sys/user/<limit>`` is reached (disabled, with its value).
    """
    try:
        with introducing(f"unshare({what})"):
            unshare(flag)
    except Verdict as verdict:
        if verdict.evidence.get("errno") in ("ENOSPC", "EUSERS"):
            value = read_text(f"/proc/sys/user/{limit}")
            raise disabled(
                f"unshare({what}) failed with {verdict.evidence['errno']}: namespace limit "
                f"reached (user.{limit}={value})",
                errno=verdict.evidence["errno"],
                **{limit: value},
            ) from verdict
        raise


def ptrace(request: int, pid: int, addr: object = 0, data: object = 0) -> int:
    return syscall("ptrace", request, pid, addr, data)


def cap_eff() -> str | None:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return line.split()[1]
    return None


def ptrace_eperm(err: OSError, what: str) -> Verdict:
    """EPERM from ptrace-style access: policy (Yama scope 3) or privilege."""
    scope = read_text("/proc/sys/kernel/yama/ptrace_scope")
    if scope == "3":
        return disabled(
            f"{what}: EPERM with kernel.yama.ptrace_scope=3 (attach disabled until reboot)",
            errno="EPERM",
            ptrace_scope=scope,
        )
    return denied(f"{what}: EPERM: not allowed to ptrace-attach", errno="EPERM", ptrace_scope=scope)


def wait_stopped(pid: int, timeout: float) -> int | None:
    """waitpid for a ptrace stop without blocking forever; the raw status or None."""
    deadline = time.monotonic() + timeout
    while True:
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped:
            return status
        if time.monotonic() > deadline:
            return None
        time.sleep(0.001)


class Counter:
    """A child that increments a counter in shared memory every millisecond."""

    def __init__(self) -> None:
        self._area = mmap.mmap(-1, 8)  # MAP_SHARED: the child's writes show up here
        self._value = ctypes.c_uint64.from_buffer(self._area)

        def spin() -> None:
            while True:
                self._value.value += 1
                time.sleep(0.001)

        self.child = Child(spin)
        self.pid = self.child.pid

    @property
    def value(self) -> int:
        return int(self._value.value)

    def advances(self, timeout: float = 2.0) -> bool:
        """True once the counter moves (waiting up to ``timeout`` under CPU steal)."""
        start = self.value
        return cgroupfs.wait_until(lambda: self.value != start, timeout, 0.001)

    def stable(self, period: float = 0.1) -> tuple[int, int]:
        before = self.value
        time.sleep(period)
        return before, self.value

    def finish(self) -> None:
        self.child.finish()


@contextlib.contextmanager
def failing_opens(gate: Gate) -> Iterator[None]:
    """In a child: if the body fails, open ``gate`` with b"E" so the parent stops waiting."""
    try:
        yield
    except BaseException:
        gate.open(b"E")
        raise


def await_gate(gate: Gate, child: Child, timeout: float = 5.0) -> bytes:
    """The payload the child opened ``gate`` with; its failure is re-raised here."""
    payload = gate.wait(timeout)
    if payload == b"E":
        child.result()  # re-raises the child's OSError or verdict
        raise RuntimeError("the child failed without saying why")
    return payload


def child_result(fn: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Run ``fn`` in a forked child and return its result (its OSError re-raised here)."""
    child = Child(fn)
    try:
        return child.result(timeout)
    finally:
        child.finish()


# --- memory C/R ------------------------------------------------------------------


def pagemap_entry(address: int) -> int:
    with open("/proc/self/pagemap", "rb") as f:
        return struct.unpack("<Q", os.pread(f.fileno(), 8, address // PAGE * 8))[0]


@probe(
    "cr.mem.soft_dirty",
    title="Soft-dirty bits track the pages written since clear_refs",
    item=MEMORY,
    since="3.11",
    config=("CONFIG_MEM_SOFT_DIRTY", "CONFIG_PROC_PAGE_MONITOR"),
    needs_root=False,
)
def cr_mem_soft_dirty(ctx: ProbeContext) -> Verdict:
    """Pass: pagemap bit 55 of a written page reads 1, then 0 after writing "4" to
    clear_refs, then 1 after the page is written again."""
    page = anon_pages(1)
    address = address_of(page)
    page[0] = 1
    entries = [pagemap_entry(address)]
    with introducing("/proc/self/clear_refs"):
        write_once("/proc/self/clear_refs", "4")
    entries.append(pagemap_entry(address))
    page[0] = 2
    entries.append(pagemap_entry(address))
    bits = [int(bool(e & PM_SOFT_DIRTY)) for e in entries]
    present = [int(bool(e & PM_PRESENT)) for e in entries]
    flags = vma_flags(address)
    evidence = {
        "soft_dirty": bits,
        "present": present,
        "vmflags_sd": "sd" in flags,
        "entries": [f"{e:016x}" for e in entries],
    }
    if bits == [1, 0, 1]:
        return passed("soft-dirty bit read 1, 0 after clear_refs, 1 after a new write", **evidence)
    if not any(bits) and all(present):
        return unsupported(
            "bit 55 is never set on a present, written page and the VMA has "
            "no 'sd' flag: soft-dirty tracking is not built in",
            **evidence,
        )
    return failed(f"soft-dirty bits read {bits} (want [1, 0, 1]), present {present}", **evidence)


def open_userfaultfd(user_mode_fallback: bool) -> tuple[int, bool]:
    """A non-blocking userfaultfd; returns (fd, user_mode_only).

    EPERM means vm.unprivileged_userfaultfd=0 and no CAP_SYS_PTRACE. With
    ``user_mode_fallback`` the probe retries with UFFD_USER_MODE_ONLY (5.11),
    which that sysctl allows and which is enough when only user-mode accesses
    must be tracked.
    """
    flags = os.O_CLOEXEC | os.O_NONBLOCK
    try:
        return syscall("userfaultfd", flags), False
    except OSError as err:
        if err.errno != errno.EPERM:
            raise  # ENOSYS: unsupported
        knob = read_text("/proc/sys/vm/unprivileged_userfaultfd")
        if user_mode_fallback:
            try:
                return syscall("userfaultfd", flags | UFFD_USER_MODE_ONLY), True
            except OSError as again:
                if again.errno not in (errno.EINVAL, errno.EPERM):
                    raise
        if knob == "0":
            raise disabled(
                "userfaultfd(): EPERM with vm.unprivileged_userfaultfd=0 and no CAP_SYS_PTRACE",
                errno="EPERM",
                unprivileged_userfaultfd=knob,
            ) from err
        raise


@probe(
    "cr.mem.pagemap_scan_wp_async",
    title="PAGEMAP_SCAN reports exactly the pages written since async uffd-wp was reset",
    item=MEMORY,
    since="6.7",
    config=("CONFIG_USERFAULTFD", "CONFIG_PTE_MARKER_UFFD_WP", "CONFIG_PROC_PAGE_MONITOR"),
    needs_root=False,
)
def cr_mem_pagemap_scan_wp_async(ctx: ProbeContext) -> Verdict:
    """Pass: after a write-protecting scan nothing reads as written; after writing pages
    1 and 5 of 8, the scan returns exactly [1,2) and [5,6)."""
    uffd, user_mode_only = open_userfaultfd(user_mode_fallback=True)
    api = UffdioApi(api=UFFD_API, features=UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)
    with introducing("UFFDIO_API with UFFD_FEATURE_WP_ASYNC"):
        ioctl(uffd, UFFDIO_API, api)
    count = 8
    area = anon_pages(count)
    base = address_of(area)
    touch(area)
    ioctl(
        uffd,
        UFFDIO_REGISTER,
        UffdioRegister(start=base, len=count * PAGE, mode=UFFDIO_REGISTER_MODE_WP),
    )
    pagemap = os.open("/proc/self/pagemap", os.O_RDONLY)

    def scan(write_protect: bool) -> list[list[int]]:
        vec = (PageRegion * count)()
        arg = PmScanArg(
            size=ctypes.sizeof(PmScanArg),
            flags=PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC if write_protect else 0,
            start=base,
            end=base + count * PAGE,
            vec=ctypes.addressof(vec),
            vec_len=count,
            category_mask=PAGE_IS_WRITTEN,
            return_mask=PAGE_IS_WRITTEN,
        )
        found = ioctl(pagemap, PAGEMAP_SCAN, arg)
        return [[(r.start - base) // PAGE, (r.end - base) // PAGE] for r in vec[:found]]

    try:
        with introducing("ioctl(PAGEMAP_SCAN)"):
            before_reset = scan(write_protect=True)  # reports, then write-protects
        after_reset = scan(write_protect=False)
        area[1 * PAGE] = 2
        area[5 * PAGE] = 2
        written = scan(write_protect=False)
    finally:
        os.close(pagemap)
        os.close(uffd)
    evidence = {
        "user_mode_only": user_mode_only,
        "features": hex(api.features),
        "before_reset": before_reset,
        "after_reset": after_reset,
        "written": written,
    }
    if after_reset or written != [[1, 2], [5, 6]]:
        return failed(
            f"written pages after reset {after_reset}, after writing pages 1 and 5 "
            f"{written} (want [] and [[1, 2], [5, 6]])",
            **evidence,
        )
    return passed(
        "after the write-protecting scan no page read as written; after writing "
        "pages 1 and 5 the scan returned exactly [1,2) and [5,6)",
        **evidence,
    )


def _unprivileged_userfaultfd() -> dict[str, str]:
    """As uid 65534 without capabilities: plain and UFFD_USER_MODE_ONLY userfaultfd()."""
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    out = {}
    for name, flags in (
        ("plain", os.O_CLOEXEC),
        ("user_mode_only", os.O_CLOEXEC | UFFD_USER_MODE_ONLY),
    ):
        try:
            os.close(syscall("userfaultfd", flags))
            out[name] = "ok"
        except OSError as err:
            out[name] = errno_name(err)
    return out


@probe(
    "cr.mem.userfaultfd",
    title="userfaultfd delivers a missing-page fault and UFFDIO_COPY resolves it",
    item=MEMORY,
    since="4.3",
    config=("CONFIG_USERFAULTFD",),
)
def cr_mem_userfaultfd(ctx: ProbeContext) -> Verdict:
    """Pass: a thread reading a registered, untouched page raises a PAGEFAULT event (0x12)
    for that page and then reads the content injected with UFFDIO_COPY."""
    uffd, _ = open_userfaultfd(user_mode_fallback=False)  # lazy restore needs kernel faults too
    api = UffdioApi(api=UFFD_API, features=0)
    with introducing("ioctl(UFFDIO_API)"):
        ioctl(uffd, UFFDIO_API, api)
    page = anon_pages(1)
    address = address_of(page)
    ioctl(
        uffd,
        UFFDIO_REGISTER,
        UffdioRegister(start=address, len=PAGE, mode=UFFDIO_REGISTER_MODE_MISSING),
    )
    payload = b"UFFD-RESTORED!!!"
    seen = ctypes.create_string_buffer(len(payload))
    # ctypes.memmove releases the GIL while it faults; a PYFUNCTYPE helper such as
    # string_at would hold it and the main thread could never answer the fault.
    reader = threading.Thread(
        target=ctypes.memmove, args=(seen, address, len(payload)), daemon=True
    )
    reader.start()
    poller = select.poll()
    poller.register(uffd, select.POLLIN)
    if not poller.poll(2000):
        return failed(
            "no userfaultfd event within 2 s of the read fault", features=hex(api.features)
        )
    msg = os.read(uffd, UFFD_MSG_SIZE)
    event = msg[0]
    fault = struct.unpack_from("<Q", msg, 16)[0]
    source = ctypes.create_string_buffer(payload, PAGE)
    ioctl(
        uffd,
        UFFDIO_COPY,
        UffdioCopy(dst=fault & ~(PAGE - 1), src=ctypes.addressof(source), len=PAGE, mode=0),
    )
    reader.join(2.0)
    got = seen.raw
    evidence: dict[str, Any] = {
        "features": hex(api.features),
        "event": hex(event),
        "fault_offset": fault - address,
        "reader_got": got.decode(errors="replace"),
    }
    knob = read_text("/proc/sys/vm/unprivileged_userfaultfd")
    evidence["unprivileged_userfaultfd"] = knob
    if os.geteuid() == 0:
        evidence["as_nobody"] = child_result(_unprivileged_userfaultfd)
    os.close(uffd)
    if event != UFFD_EVENT_PAGEFAULT or fault & ~(PAGE - 1) != address:
        return failed(f"event {event:#x} at offset {fault - address} (want 0x12 at 0)", **evidence)
    if reader.is_alive() or got != payload:
        return failed(f"the faulting reader got {got!r} instead of the injected page", **evidence)
    if knob == "0" and evidence.get("as_nobody", {}).get("plain") == "ok":
        return failed(
            "uid 65534 opened a kernel-mode userfaultfd although vm.unprivileged_userfaultfd=0",
            **evidence,
        )
    return passed(
        f"PAGEFAULT event {event:#x} for the registered page; the reader got "
        f"{got.decode()!r} injected by UFFDIO_COPY",
        **evidence,
    )


@probe(
    "cr.mem.process_vm_rw",
    title="process_vm_readv/writev read and patch another process's memory",
    item=MEMORY,
    since="3.2",
    config=("CONFIG_CROSS_MEMORY_ATTACH",),
    needs_root=False,
)
def cr_mem_process_vm_rw(ctx: ProbeContext) -> Verdict:
    """Pass: the 17 bytes read from the child match its buffer and the child then sees the
    bytes written into it."""
    original, patched = b"probe-vm-original", b"probe-vm-patched!"
    ready, done = Gate(), Gate()

    def holder() -> str:
        buf = ctypes.create_string_buffer(original, len(original))
        ready.open(str(ctypes.addressof(buf)).encode())
        done.wait(5.0)
        return buf.raw.decode()

    child = Child(holder)
    try:
        remote = int(await_gate(ready, child))
        local = ctypes.create_string_buffer(len(original))
        remote_iov = Iovec(remote, len(original))
        try:
            read = syscall(
                "process_vm_readv",
                child.pid,
                ctypes.byref(Iovec(ctypes.addressof(local), len(original))),
                1,
                ctypes.byref(remote_iov),
                1,
                0,
            )
            source = ctypes.create_string_buffer(patched, len(patched))
            wrote = syscall(
                "process_vm_writev",
                child.pid,
                ctypes.byref(Iovec(ctypes.addressof(source), len(patched))),
                1,
                ctypes.byref(remote_iov),
                1,
                0,
            )
        except OSError as err:
            if err.errno == errno.EPERM:
                raise ptrace_eperm(err, "process_vm_readv") from err
            raise
        done.open()
        seen = child.result()
    finally:
        child.finish()
        ready.close()
        done.close()
    evidence = {
        "read": local.raw.decode(errors="replace"),
        "read_bytes": read,
        "written_bytes": wrote,
        "child_saw": seen,
    }
    if local.raw != original or seen != patched.decode():
        return failed(
            f"read {local.raw!r} (want {original!r}); child then held {seen!r}", **evidence
        )
    return passed(
        f"read {read} bytes {original.decode()!r} from the child and it then held {seen!r}",
        **evidence,
    )


@probe(
    "cr.mem.map_files",
    title="/proc/self/map_files gives access to an unlinked mapped file",
    item=MEMORY,
    since="3.3",  # CONFIG_CHECKPOINT_RESTORE only until 4.3
)
def cr_mem_map_files(ctx: ProbeContext) -> Verdict:
    """Pass: the map_files entry of a shared mapping of an unlinked file reads as
    "... (deleted)" and opening it returns the file's contents."""
    scratch = ctx.scratch("map")
    try:
        path = os.path.join(scratch, "mapped")
        content = f"probe-map-files-{os.getpid()}".encode()
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, content.ljust(PAGE, b"\0"))
            area = mmap.mmap(fd, PAGE, flags=mmap.MAP_SHARED)
        finally:
            os.close(fd)
        os.unlink(path)
        start = address_of(area)
        entry = f"/proc/self/map_files/{start:x}-{start + PAGE:x}"
        with introducing("/proc/self/map_files"):
            link = os.readlink(entry)
        with open(entry, "rb") as f:
            data = f.read(len(content))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    evidence = {
        "entry": os.path.basename(entry),
        "link": link,
        "read": data.decode(errors="replace"),
    }
    if not link.endswith(" (deleted)") or data != content:
        return failed(f"map_files link {link!r} gave {data!r}", **evidence)
    return passed(
        f"map_files entry pointed to {link!r} and opening it read {content.decode()!r}", **evidence
    )


@probe(
    "cr.mem.pr_set_mm_map",
    title="PR_SET_MM_MAP rewrites a process's memory map descriptors (its command line)",
    item=MEMORY,
    since="3.18",
    config=("CONFIG_CHECKPOINT_RESTORE",),
    needs_root=False,
)
def cr_mem_pr_set_mm_map(ctx: ProbeContext) -> Verdict:
    """Pass: PR_SET_MM_MAP_SIZE reports 104 and PR_SET_MM_MAP with a new argument area
    makes /proc/<pid>/cmdline read "probe-restored-cmdline"."""
    wanted = b"probe-restored-cmdline"
    ready, done = Gate(), Gate()

    def restore() -> int:
        with failing_opens(ready):
            size = ctypes.c_uint32(0)
            with introducing("prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE)"):
                syscall("prctl", PR_SET_MM, PR_SET_MM_MAP_SIZE, ctypes.byref(size), 0, 0)
            args = ctypes.create_string_buffer(wanted)  # NUL-terminated, as argv is
            fields = stat_fields()
            mm = PrctlMmMap(
                start_code=stat_field(fields, 26),
                end_code=stat_field(fields, 27),
                start_data=stat_field(fields, 45),
                end_data=stat_field(fields, 46),
                start_brk=stat_field(fields, 47),
                brk=_libc.sbrk(0),
                start_stack=stat_field(fields, 28),
                arg_start=ctypes.addressof(args),
                arg_end=ctypes.addressof(args) + len(wanted) + 1,
                env_start=stat_field(fields, 50),
                env_end=stat_field(fields, 51),
                auxv=0,
                auxv_size=0,
                exe_fd=0xFFFFFFFF,
            )  # -1: keep /proc/self/exe
            syscall("prctl", PR_SET_MM, PR_SET_MM_MAP, ctypes.byref(mm), ctypes.sizeof(mm), 0)
        ready.open(b"ok")
        done.wait(5.0)
        return size.value

    child = Child(restore)
    try:
        await_gate(ready, child)
        with open(f"/proc/{child.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        done.open()
        size = child.result()
    finally:
        child.finish()
        ready.close()
        done.close()
    # cmdline arguments are NUL-separated: show them as a list, not raw NULs.
    evidence = {
        "map_size": size,
        "cmdline": cmdline.rstrip(b"\0").decode(errors="replace").split("\0"),
    }
    if size != ctypes.sizeof(PrctlMmMap) or cmdline != wanted + b"\0":
        return failed(
            f"PR_SET_MM_MAP_SIZE {size} (want {ctypes.sizeof(PrctlMmMap)}); "
            f"cmdline afterwards {cmdline!r}",
            **evidence,
        )
    return passed(
        f"PR_SET_MM_MAP_SIZE is {size} and after PR_SET_MM_MAP the child's cmdline "
        f"reads {wanted.decode()!r}",
        **evidence,
    )


# --- per-container swap ----------------------------------------------------------


class Hog:
    """A child that allocates and touches anonymous memory on command, step by step.

    Only the child holds the write end of the acknowledgement pipe, so its death
    (an OOM kill) shows up as end-of-file there.
    """

    def __init__(self) -> None:
        self._cmd_r, self._cmd_w = os.pipe()
        ack_r, ack_w = os.pipe()

        def run() -> str:
            held = []  # keep every step's memory
            while True:
                command = os.read(self._cmd_r, 32)
                if not command:
                    return "released"
                area = anon_pages(int(command) // PAGE)
                touch(area)
                held.append(area)
                os.write(ack_w, b"1")

        self.child = Child(run)
        os.close(ack_w)
        self._ack_r = ack_r
        self.pid = self.child.pid

    def allocate(self, size: int, timeout: float) -> bool:
        """True when the child survived touching ``size`` more bytes, False when it died."""
        os.write(self._cmd_w, str(size).encode())
        if not select.select([self._ack_r], [], [], timeout)[0]:
            raise TimeoutError(f"allocating {size} bytes took more than {timeout} s")
        return os.read(self._ack_r, 1) == b"1"

    def wait(self, timeout: float = 5.0) -> int:
        return self.child.wait(timeout)

    def finish(self) -> None:
        self.child.finish()
        for fd in (self._cmd_r, self._cmd_w, self._ack_r):
            with contextlib.suppress(OSError):
                os.close(fd)


def killed_by_sigkill(status: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def find_tool(name: str) -> str | None:
    """A tool on PATH or in the sbin directories an agent's PATH may lack."""
    return shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")


def read_swaps() -> list[str]:
    """The swap areas in /proc/swaps, by name (their usage columns change all the time)."""
    with open("/proc/swaps") as f:
        return [line.split()[0] for line in f.read().splitlines()[1:] if line.strip()]


SWAPFILE_SIZE = 128 * MiB


def _memsw_run(
    ctx: ProbeContext, memory: str, mkswap: str, swapfile: str, state: dict[str, Any]
) -> Verdict:
    fd = os.open(swapfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        zeros = bytes(MiB)  # written out: swapon refuses files with holes
        for _ in range(SWAPFILE_SIZE // MiB):
            os.write(fd, zeros)
        os.fsync(fd)
    finally:
        os.close(fd)
    made = subprocess.run(
        [mkswap, swapfile], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )
    if made.returncode != 0:
        raise skipped(
            f"mkswap failed (rc {made.returncode}): {(made.stderr or made.stdout).strip()[-200:]}",
            mkswap=mkswap,
        )
    try:
        syscall("swapon", swapfile, 0)
    except OSError as err:
        if err.errno == errno.EINVAL:
            raise unsupported(
                "swapon EINVAL: the filesystem of /tmp cannot hold a swap file", errno="EINVAL"
            ) from err
        raise
    state["swapon"] = True
    state["swaps_during"] = read_swaps()
    cgroup = cgroupfs.create(ctx, memory)
    state["cgroup"] = cgroup
    for name, value in (
        ("memory.limit_in_bytes", 32 * MiB),
        ("memory.memsw.limit_in_bytes", 64 * MiB),  # after the limit: >= it
        ("memory.swappiness", 100),
    ):
        cgroupfs.write(os.path.join(cgroup, name), str(value))
    hog = state["hog"] = Hog()
    cgroupfs.attach(cgroup, hog.pid)
    survived = hog.allocate(48 * MiB, 20.0)
    usage = int(cgroupfs.read(os.path.join(cgroup, "memory.usage_in_bytes")))
    memsw = int(cgroupfs.read(os.path.join(cgroup, "memory.memsw.usage_in_bytes")))
    swap = cgroupfs.read_keyed(os.path.join(cgroup, "memory.stat")).get("swap", 0)
    second = hog.allocate(32 * MiB, 20.0) if survived else False
    status = hog.wait(0.0 if second else 10.0)  # a survivor would only wait for its kill
    oom = cgroupfs.read_keyed(os.path.join(cgroup, "memory.oom_control"))
    evidence = {
        "usage": usage,
        "memsw_usage": memsw,
        "swap": swap,
        "first_step_survived": survived,
        "second_step_survived": second,
        "second_step_end": describe_wait_status(status),
        "oom_kill": oom.get("oom_kill"),
        "swapfile_mb": SWAPFILE_SIZE // MiB,
    }
    if not survived:
        return failed(
            "the child was killed touching 48 MiB although 64 MiB of memory+swap were allowed",
            **evidence,
        )
    if swap <= 8 * MiB or memsw <= usage:
        return failed(
            f"after 48 MiB under a 32 MiB limit: swap {swap} B, memsw {memsw} B, "
            f"usage {usage} B (want swap > 8 MiB and memsw > usage)",
            **evidence,
        )
    if second or not killed_by_sigkill(status):
        return failed(
            f"going past the 64 MiB memsw limit did not OOM-kill the child "
            f"({describe_wait_status(status)})",
            **evidence,
        )
    return passed(
        f"48 MiB under a 32 MiB limit: usage {usage / MiB:.1f} MiB, memsw "
        f"{memsw / MiB:.1f} MiB, swap {swap / MiB:.1f} MiB; +32 MiB past memsw "
        "64 MiB was OOM-killed",
        **evidence,
    )


@probe(
    "cr.swap.memsw_v1",
    title="v1 memory.memsw limits memory+swap per cgroup (temporary swapfile)",
    item=SWAP,
    since="2.6.29",
    config=("CONFIG_MEMCG", "CONFIG_MEMCG_V1", "CONFIG_SWAP", "CONFIG_MEMCG_SWAP"),
    intrusive=True,  # the swapfile is global while it is on
    timeout=60.0,
)
def cr_swap_memsw_v1(ctx: ProbeContext) -> Verdict:
    """Pass: with limit 32 MiB / memsw 64 MiB, touching 48 MiB swaps > 8 MiB out
    (memsw usage > usage) and 32 MiB more is OOM-killed. The swapfile is swapped
    off and removed afterwards and /proc/swaps is back to its baseline."""
    try:
        memory = cgroupfs.v1_dir("memory")
    except cgroupfs.LayoutError as err:
        raise unsupported(f"no v1 memory hierarchy: {err}") from err
    if not os.path.exists(os.path.join(memory, "memory.memsw.limit_in_bytes")):
        raise unsupported(
            "no memory.memsw.* files: swap accounting is off (swapaccount=0, "
            "cgroup.memory=noswap or no CONFIG_SWAP)"
        )
    if not int(cap_eff() or "0", 16) & 1 << CAP_SYS_ADMIN:  # before writing 128 MiB for nothing
        raise denied("swapon needs CAP_SYS_ADMIN", cap_eff=cap_eff())
    mkswap = find_tool("mkswap")
    if mkswap is None:
        raise skipped("mkswap is not installed")
    baseline = read_swaps()
    swapfile = os.path.join("/tmp", ctx.name("swap"))
    ctx.register("path", swapfile)
    state: dict[str, Any] = {"swapon": False, "cgroup": None, "hog": None}
    problems = []
    try:
        verdict = _memsw_run(ctx, memory, mkswap, swapfile, state)
    except Verdict as raised:
        verdict = raised
    finally:
        if state["hog"] is not None:
            state["hog"].finish()
        if state["cgroup"] is not None:
            try:
                cgroupfs.remove(state["cgroup"])
            except OSError as err:
                problems.append(f"rmdir {state['cgroup']}: {err.strerror}")
        if state["swapon"]:
            try:
                syscall("swapoff", swapfile)
            except OSError as err:
                problems.append(f"swapoff: {err.strerror}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(swapfile)
    after = read_swaps()
    verdict.evidence.update(
        swaps_before=baseline,
        swaps_during=state.get("swaps_during"),
        swaps_after=after,
        swaps_restored=swapfile not in after and set(baseline) <= set(after),
    )
    if problems or not verdict.evidence["swaps_restored"]:
        return Verdict(
            Status.ERROR,
            "cleanup failed: " + ("; ".join(problems) or f"/proc/swaps is {after}, was {baseline}"),
            **verdict.evidence,
        )
    return verdict


@probe(
    "cr.swap.v2_swap_max",
    title="cgroup2 memory.swap.max=0 keeps a cgroup out of swap",
    item=SWAP,
    since="4.5",
    config=("CONFIG_MEMCG", "CONFIG_SWAP"),
    intrusive=True,  # an OOM kill, like cg.memory.v1_limit_oom
    timeout=30.0,
)
def cr_swap_v2_swap_max(ctx: ProbeContext) -> Verdict:
    """Pass: with memory.swap.max=0 and memory.max=32 MiB, a child touching 64 MiB is
    OOM-killed with no swap charged (memory.swap.current, and .peak where present, 0)."""
    try:
        cgroupfs.require_v2_controller("memory")
    except cgroupfs.BoundToV1 as err:
        raise unsupported(str(err), hierarchy=err.hierarchy) from err
    except cgroupfs.LayoutError as err:
        raise unsupported(str(err)) from err
    try:
        with cgroupfs.v2_subtree(ctx, "memory") as (_parent, leaf):
            return _swap_max_run(leaf)
    except cgroupfs.NotDelegated as err:
        raise disabled(str(err)) from err


def _swap_max_run(leaf: str) -> Verdict:
    swap_max = os.path.join(leaf, "memory.swap.max")
    if not os.path.exists(swap_max):
        raise unsupported(
            "no memory.swap.max: swap accounting is off (swapaccount=0, "
            "cgroup.memory=noswap or no CONFIG_SWAP)"
        )
    cgroupfs.write(swap_max, "0")
    cgroupfs.write(os.path.join(leaf, "memory.max"), str(32 * MiB))
    hog = Hog()
    try:
        cgroupfs.attach(leaf, hog.pid)
        survived = hog.allocate(64 * MiB, 20.0)
        status = hog.wait(0.0 if survived else 10.0)
    finally:
        hog.finish()
    evidence: dict[str, Any] = {
        "survived": survived,
        "end": describe_wait_status(status),
        "swap_current": int(cgroupfs.read(os.path.join(leaf, "memory.swap.current"))),
        "swap_events": cgroupfs.read_keyed(os.path.join(leaf, "memory.swap.events"))
        if os.path.exists(os.path.join(leaf, "memory.swap.events"))
        else None,
        "oom_kill": cgroupfs.read_keyed(os.path.join(leaf, "memory.events")).get("oom_kill"),
    }
    peak = os.path.join(leaf, "memory.swap.peak")  # 6.5
    if os.path.exists(peak):
        evidence["swap_peak"] = int(cgroupfs.read(peak))
    if survived or not killed_by_sigkill(status):
        return failed(
            f"touching 64 MiB under memory.max 32 MiB and swap.max 0 was not "
            f"OOM-killed ({describe_wait_status(status)})",
            **evidence,
        )
    if evidence["swap_current"] or evidence.get("swap_peak"):
        return failed(
            f"swap was charged although memory.swap.max=0 "
            f"(current {evidence['swap_current']}, peak {evidence.get('swap_peak')})",
            **evidence,
        )
    return passed(
        "64 MiB under memory.max 32 MiB with memory.swap.max 0 was OOM-killed with no swap charged",
        **evidence,
    )


# --- checkpoint strategy ---------------------------------------------------------


def cgroup_events(cgroup: str) -> dict[str, int]:
    return cgroupfs.read_keyed(os.path.join(cgroup, "cgroup.events"))


def seize_and_interrupt(pid: int) -> int:
    """PTRACE_SEIZE + PTRACE_INTERRUPT; returns the stop's raw wait status (0: no stop)."""
    try:
        ptrace(PTRACE_SEIZE, pid)
    except OSError as err:
        if err.errno == errno.EPERM:
            raise ptrace_eperm(err, "ptrace(PTRACE_SEIZE)") from err
        raise
    ptrace(PTRACE_INTERRUPT, pid)
    return wait_stopped(pid, 2.0) or 0


def stop_event(status: int) -> int | None:
    """The PTRACE_EVENT_* of a ptrace stop (status >> 16), None when not stopped."""
    return status >> 16 if status and os.WIFSTOPPED(status) else None


@probe(
    "cr.ckpt.cgroup2_freeze",
    title="cgroup.freeze stops a cgroup2 and a frozen task can be seized",
    item=CHECKPOINT,
    since="5.2",
    config=("CONFIG_CGROUPS",),
    timeout=20.0,  # worst case: every bounded wait runs out
)
def cr_ckpt_cgroup2_freeze(ctx: ProbeContext) -> Verdict:
    """Pass: after "1" in cgroup.freeze cgroup.events says frozen 1 and the child's counter
    stays still for 100 ms; PTRACE_SEIZE + PTRACE_INTERRUPT stop the frozen task
    (PTRACE_EVENT_STOP); after "0" it says frozen 0 and the counter moves again."""
    try:
        base = cgroupfs.own_dir(cgroupfs.V2)
    except cgroupfs.LayoutError as err:
        raise unsupported(f"cgroup2 is not reachable: {err}") from err
    cgroup = cgroupfs.create(ctx, base)
    freeze = os.path.join(cgroup, "cgroup.freeze")
    counter = None
    try:
        if not os.path.exists(freeze):
            return unsupported("no cgroup.freeze in a new cgroup2 directory (before 5.2)")
        counter = Counter()
        cgroupfs.attach(cgroup, counter.pid)
        running = counter.advances()
        started = time.monotonic()
        cgroupfs.write(freeze, "1")
        frozen = cgroupfs.wait_until(lambda: cgroup_events(cgroup).get("frozen") == 1, 2.0, 0.0001)
        frozen_ms = round((time.monotonic() - started) * 1000, 2)
        state = proc_state(counter.pid)
        still = counter.stable(0.1)
        status = seize_and_interrupt(counter.pid)
        event = stop_event(status)
        if status:
            ptrace(PTRACE_DETACH, counter.pid, 0, 0)
        cgroupfs.write(freeze, "0")
        thawed = cgroupfs.wait_until(lambda: cgroup_events(cgroup).get("frozen") == 0, 2.0, 0.0001)
        resumed = counter.advances()
    finally:
        with contextlib.suppress(OSError):
            cgroupfs.write(freeze, "0")
        if counter is not None:
            counter.finish()
        cgroupfs.remove(cgroup)
    evidence = {
        "cgroup": cgroup,
        "running_before": running,
        "frozen": frozen,
        "frozen_ms": frozen_ms,
        "state_frozen": state,
        "counter_frozen": list(still),
        "stop_event": event,
        "thawed": thawed,
        "resumed": resumed,
    }
    problems = []
    if not running:
        problems.append("the counter child never ran")
    if not frozen:
        problems.append("cgroup.events never said frozen 1")
    if still[0] != still[1]:
        problems.append(f"the counter moved while frozen ({still[0]} -> {still[1]})")
    if event != PTRACE_EVENT_STOP:
        problems.append(f"seize+interrupt of the frozen task gave event {event}")
    if not thawed or not resumed:
        problems.append(f"after thawing: frozen 0 seen {thawed}, counter moving {resumed}")
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(
        f"frozen in {frozen_ms} ms (task state {state}), counter still for 100 ms, "
        "seize+interrupt stopped the frozen task, thawed and running again",
        **evidence,
    )


@probe(
    "cr.ckpt.ptrace_seize",
    title="PTRACE_SEIZE attaches without stopping; PTRACE_INTERRUPT stops on demand",
    item=CHECKPOINT,
    since="3.4",
    needs_root=False,
    timeout=15.0,  # worst case: every bounded wait runs out
)
def cr_ckpt_ptrace_seize(ctx: ProbeContext) -> Verdict:
    """Pass: the counter keeps moving after SEIZE, INTERRUPT gives a PTRACE_EVENT_STOP
    stop, GETREGSET reads the registers, the counter is still while stopped and moves
    again after DETACH."""
    counter = Counter()
    attached = False
    try:
        running = counter.advances()
        try:
            ptrace(PTRACE_SEIZE, counter.pid)
        except OSError as err:
            if err.errno == errno.EPERM:
                raise ptrace_eperm(err, "ptrace(PTRACE_SEIZE)") from err
            raise
        attached = True
        seized_running = counter.advances()
        ptrace(PTRACE_INTERRUPT, counter.pid)
        status = wait_stopped(counter.pid, 2.0) or 0
        event = stop_event(status)
        regs = (ctypes.c_uint64 * 64)()
        iov = Iovec(ctypes.addressof(regs), 0)
        pc_index = _PC_INDEX.get(platform.machine())
        pc = None
        if status:  # registers can only be read from a stopped tracee
            iov.len = ctypes.sizeof(regs)
            ptrace(PTRACE_GETREGSET, counter.pid, NT_PRSTATUS, ctypes.byref(iov))
            pc = regs[pc_index] if pc_index is not None else None
        still = counter.stable(0.05)
        ptrace(PTRACE_DETACH, counter.pid, 0, 0)
        attached = False
        resumed = counter.advances()
    finally:
        if attached:
            with contextlib.suppress(OSError):
                ptrace(PTRACE_DETACH, counter.pid, 0, 0)
        counter.finish()
    evidence = {
        "running_after_seize": seized_running,
        "stop_event": event,
        "regset_bytes": iov.len,
        "pc": hex(pc) if pc is not None else None,
        "counter_stopped": list(still),
        "resumed": resumed,
    }
    problems = []
    if not running or not seized_running:
        problems.append("the counter did not run after PTRACE_SEIZE")
    if event != PTRACE_EVENT_STOP:
        problems.append(f"PTRACE_INTERRUPT gave wait status {status:#x}")
    if not iov.len or (pc_index is not None and not pc):
        problems.append("GETREGSET returned no program counter")
    if still[0] != still[1]:
        problems.append(f"the counter moved while stopped ({still[0]} -> {still[1]})")
    if not resumed:
        problems.append("the counter did not move after PTRACE_DETACH")
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(
        f"seized while running, interrupt stop at pc {evidence['pc']} "
        f"({iov.len}-byte regset), still while stopped, running after detach",
        **evidence,
    )


def kcmp(pid1: int, pid2: int, kind: int, idx1: int = 0, idx2: int = 0) -> int:
    return syscall("kcmp", pid1, pid2, kind, idx1, idx2)


@probe(
    "cr.ckpt.kcmp",
    title="kcmp tells whether two processes share a file, memory or file table",
    item=CHECKPOINT,
    since="3.5",
    config=("CONFIG_KCMP", "CONFIG_CHECKPOINT_RESTORE"),
    needs_root=False,
)
def cr_ckpt_kcmp(ctx: ProbeContext) -> Verdict:
    """Pass: KCMP_FILE is 0 for dup'ed fds and for an fd inherited across fork and non-zero
    for two opens of one path; KCMP_VM and KCMP_FILES parent vs child are non-zero."""
    me = os.getpid()
    first = os.open("/dev/null", os.O_RDONLY)
    dup = os.dup(first)
    other = os.open("/dev/null", os.O_RDONLY)
    hold = Gate()
    child = Child(lambda: bool(hold.wait(5.0)))
    try:
        try:
            with introducing("kcmp()"):
                results = {"dup": kcmp(me, me, KCMP_FILE, first, dup)}
            results["separate_open"] = kcmp(me, me, KCMP_FILE, first, other)
            results["inherited"] = kcmp(me, child.pid, KCMP_FILE, first, first)
            results["vm"] = kcmp(me, child.pid, KCMP_VM)
            results["files"] = kcmp(me, child.pid, KCMP_FILES)
        except OSError as err:
            if err.errno == errno.EPERM:
                raise ptrace_eperm(err, "kcmp()") from err
            raise
    finally:
        child.finish()
        hold.close()
        for fd in (first, dup, other):
            os.close(fd)
    wanted_zero = ("dup", "inherited")
    if any(results[k] != 0 for k in wanted_zero) or any(
        results[k] == 0 for k in results if k not in wanted_zero
    ):
        return failed(
            f"kcmp answered {results} (want 0 for dup and inherited, non-zero otherwise)", **results
        )
    return passed(
        "KCMP_FILE 0 for a dup and an inherited fd, non-zero for a separate open; "
        "KCMP_VM and KCMP_FILES parent/child non-zero",
        **results,
    )


@probe(
    "cr.ckpt.pidfd_getfd",
    title="pidfd_getfd copies a file descriptor out of another process",
    item=CHECKPOINT,
    since="5.6",
    needs_root=False,
)
def cr_ckpt_pidfd_getfd(ctx: ProbeContext) -> Verdict:
    """Pass: data the child put in its pipe is readable through the stolen fd, kcmp says
    it is the child's file, and pidfd_send_signal(SIGTERM) ends the child, seen by poll."""
    payload = f"probe-pidfd-{os.getpid()}".encode()
    ready = Gate()

    def holder() -> None:
        read_end, write_end = os.pipe()
        os.write(write_end, payload)
        ready.open(str(read_end).encode())
        time.sleep(30)  # until SIGTERM

    child = Child(holder)
    pidfd = stolen = -1
    try:
        target = int(await_gate(ready, child))
        with introducing("pidfd_open()"):
            pidfd = os.pidfd_open(child.pid)
        try:
            stolen = syscall("pidfd_getfd", pidfd, target, 0)
        except OSError as err:
            if err.errno == errno.EPERM:
                raise ptrace_eperm(err, "pidfd_getfd()") from err
            raise
        try:
            same: int | str = kcmp(os.getpid(), child.pid, KCMP_FILE, stolen, target)
        except OSError as err:  # kcmp is optional here (CONFIG_KCMP)
            same = errno_name(err)
        data = os.read(stolen, len(payload))
        syscall("pidfd_send_signal", pidfd, signal.SIGTERM, None, 0)
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        exited = bool(poller.poll(2000))
        status = child.wait(2.0)
    finally:
        child.finish()
        ready.close()
        for fd in (pidfd, stolen):
            if fd >= 0:
                os.close(fd)
    evidence = {
        "target_fd": target,
        "stolen_fd": stolen,
        "read": data.decode(errors="replace"),
        "kcmp": same,
        "poll_exit": exited,
        "end": describe_wait_status(status),
    }
    died_of_term = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    if data != payload or same not in (0, "ENOSYS") or not exited or not died_of_term:
        return failed(
            f"read {data!r} via the stolen fd, kcmp {same}, poll fired {exited}, "
            f"child {describe_wait_status(status)}",
            **evidence,
        )
    return passed(
        f"read {payload.decode()!r} through fd {stolen} copied from the child's fd "
        f"{target} (kcmp {same}); pidfd_send_signal SIGTERM ended it, poll fired",
        **evidence,
    )


def loopback_up() -> None:
    """Bring ``lo`` up in a fresh network namespace (SIOCGIFFLAGS/SIOCSIFFLAGS)."""
    layout = "16sH22x"  # struct ifreq: name, flags, rest of the union
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        got = fcntl.ioctl(sock, SIOCGIFFLAGS, struct.pack(layout, b"lo", 0))
        flags = struct.unpack(layout, got)[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(layout, b"lo", flags | IFF_UP))


def recv_exactly(sock: socket.socket, size: int, timeout: float = 2.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def queue_seq(sock: socket.socket, queue: int) -> int:
    sock.setsockopt(socket.SOL_TCP, TCP_REPAIR_QUEUE, queue)
    return sock.getsockopt(socket.SOL_TCP, TCP_QUEUE_SEQ) & 0xFFFFFFFF


def set_queue_seq(sock: socket.socket, queue: int, seq: int) -> None:
    sock.setsockopt(socket.SOL_TCP, TCP_REPAIR_QUEUE, queue)
    sock.setsockopt(socket.SOL_TCP, TCP_QUEUE_SEQ, struct.pack("I", seq))


@probe(
    "cr.ckpt.tcp_repair",
    title="TCP_REPAIR checkpoints an established connection and restores it in a new socket",
    item=CHECKPOINT,
    since="3.5",
    config=("CONFIG_INET", "CONFIG_NET_NS"),
    timeout=15.0,  # worst case: every bounded wait runs out
)
def cr_ckpt_tcp_repair(ctx: ProbeContext) -> Verdict:
    """Pass: closing the socket in repair mode sends nothing to the peer; a new socket
    given the saved sequence numbers, options and window connects without a handshake
    and data then flows both ways ("after-restore" and a reply)."""
    # a private stack: nothing here can touch host connections
    unshare_new(CLONE_NEWNET, "CLONE_NEWNET", "max_net_namespaces")
    loopback_up()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2.0)
    peer, _ = server.accept()
    client.sendall(b"a")
    recv_exactly(peer, 1)
    peer.sendall(b"b")
    recv_exactly(client, 1)
    try:
        client.setsockopt(socket.SOL_TCP, TCP_REPAIR, 1)
    except OSError as err:
        if err.errno == errno.ENOPROTOOPT:
            raise unsupported("TCP_REPAIR is not known to this kernel (ENOPROTOOPT)") from err
        raise  # EPERM: CAP_NET_ADMIN over the netns is needed
    saved: dict[str, Any] = {
        "snd_seq": queue_seq(client, TCP_SEND_QUEUE),
        "rcv_seq": queue_seq(client, TCP_RECV_QUEUE),
        "mss": client.getsockopt(socket.SOL_TCP, socket.TCP_MAXSEG),
        "local": client.getsockname(),
        "remote": client.getpeername(),
    }
    info = client.getsockopt(socket.SOL_TCP, socket.TCP_INFO, 8)
    saved["tcpi_options"], saved["wscale"] = info[5], info[6]
    try:  # 4.8; without it the new socket starts from default windows
        window = client.getsockopt(socket.SOL_TCP, TCP_REPAIR_WINDOW, 20)
        saved["window"] = list(struct.unpack("5I", window))
    except OSError:
        window = None
    client.close()  # in repair mode: no FIN, no RST
    readable = bool(select.select([peer], [], [], 0.02)[0])  # a FIN or RST would show here
    started = time.monotonic()
    restored = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    restored.setsockopt(socket.SOL_TCP, TCP_REPAIR, 1)
    restored.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    set_queue_seq(restored, TCP_SEND_QUEUE, saved["snd_seq"])
    set_queue_seq(restored, TCP_RECV_QUEUE, saved["rcv_seq"])
    restored.bind(saved["local"])
    restored.connect(saved["remote"])  # no handshake in repair mode
    options = struct.pack("II", TCPOPT_MAXSEG, saved["mss"])
    if saved["tcpi_options"] & TCPI_OPT_WSCALE:
        snd_wscale, rcv_wscale = saved["wscale"] & 0xF, saved["wscale"] >> 4
        options += struct.pack("II", TCPOPT_WINDOW, snd_wscale | rcv_wscale << 16)
    if saved["tcpi_options"] & TCPI_OPT_SACK:
        options += struct.pack("II", TCPOPT_SACK_PERM, 0)
    restored.setsockopt(socket.SOL_TCP, TCP_REPAIR_OPTIONS, options)
    if window is not None:
        restored.setsockopt(socket.SOL_TCP, TCP_REPAIR_WINDOW, window)
    restored.setsockopt(socket.SOL_TCP, TCP_REPAIR, 0)
    restore_ms = round((time.monotonic() - started) * 1000, 2)
    restored.sendall(b"after-restore")
    got = recv_exactly(peer, len(b"after-restore"))
    peer.sendall(b"reply")
    reply = recv_exactly(restored, len(b"reply"))
    for sock in (restored, peer, server):
        sock.close()
    evidence = {
        **saved,
        "peer_saw_close": readable,
        "peer_got": got.decode(errors="replace"),
        "reply": reply.decode(errors="replace"),
        "restore_ms": restore_ms,
    }
    if readable or got != b"after-restore" or reply != b"reply":
        return failed(
            f"peer saw the repair-mode close: {readable}; peer got {got!r}, the "
            f"restored socket got {reply!r}",
            **evidence,
        )
    return passed(
        f"silent close, restored in {restore_ms} ms without a handshake; peer got "
        "'after-restore' and the restored socket got the reply",
        **evidence,
    )


def capset(effective: int, permitted: int, inheritable: int = 0) -> None:
    header = CapHeader(version=LINUX_CAPABILITY_VERSION_3, pid=0)
    data = (CapData * 2)()
    for i in range(2):
        data[i].effective = (effective >> (32 * i)) & 0xFFFFFFFF
        data[i].permitted = (permitted >> (32 * i)) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> (32 * i)) & 0xFFFFFFFF
    syscall("capset", ctypes.byref(header), ctypes.byref(data))


def clone3(flags: int = 0, set_tid: list[int] | None = None) -> int:
    """Raw clone3 (fork semantics). In the child (return 0) Python's at-fork handlers
    have not run: the child must only make simple calls and leave with os._exit."""
    tids = (ctypes.c_int * len(set_tid))(*set_tid) if set_tid else None
    args = CloneArgs(
        flags=flags,
        exit_signal=signal.SIGCHLD,
        set_tid=ctypes.addressof(tids) if tids is not None else 0,
        set_tid_size=len(set_tid or ()),
    )
    return syscall("clone3", ctypes.byref(args), ctypes.sizeof(args))


def clone3_and_reap(set_tid: list[int]) -> int:
    """clone3 a child that exits at once; return its pid after reaping it."""
    pid = clone3(set_tid=set_tid)
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _restricted_worker(caps: int) -> dict[str, Any]:
    """As uid 65534 holding only ``caps``: write ns_last_pid and clone3 with set_tid."""
    os.setgroups([])
    prctl(PR_SET_KEEPCAPS, 1)  # keep the permitted set across setuid
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    capset(caps, caps)
    out: dict[str, Any] = {"cap_eff": cap_eff()}
    try:
        write_once("/proc/sys/kernel/ns_last_pid", "500")
        out["ns_last_pid"] = "ok"
    except OSError as err:
        out["ns_last_pid"] = errno_name(err)
    try:
        out["clone3_set_tid"] = clone3_and_reap([777])
    except OSError as err:
        out["clone3_set_tid"] = errno_name(err)
    return out


@probe(
    "cr.ckpt.cap_checkpoint_restore",
    title="CAP_CHECKPOINT_RESTORE alone allows ns_last_pid and clone3 set_tid",
    item=CHECKPOINT,
    since="5.9",
    config=("CONFIG_PID_NS", "CONFIG_CHECKPOINT_RESTORE"),
)
def cr_ckpt_cap_checkpoint_restore(ctx: ProbeContext) -> Verdict:
    """Pass: in a new pid namespace a uid-65534 worker holding only CAP_CHECKPOINT_RESTORE
    writes ns_last_pid and gets pid 777 from clone3 set_tid; one without any capability
    gets EPERM for both."""
    last_cap = int(read_text("/proc/sys/kernel/cap_last_cap") or 0)
    if last_cap < CAP_CHECKPOINT_RESTORE:
        raise unsupported(
            f"cap_last_cap is {last_cap}: no CAP_CHECKPOINT_RESTORE (40)", cap_last_cap=last_cap
        )
    unshare_new(CLONE_NEWPID, "CLONE_NEWPID", "max_pid_namespaces")  # next child is its init

    def init() -> dict[str, Any]:
        return {
            "with_cap": child_result(lambda: _restricted_worker(1 << CAP_CHECKPOINT_RESTORE)),
            "without": child_result(lambda: _restricted_worker(0)),
        }

    found = child_result(init)
    with_cap, without = found["with_cap"], found["without"]
    evidence = {"cap_last_cap": last_cap, **found}
    if (
        with_cap["cap_eff"] != f"{1 << CAP_CHECKPOINT_RESTORE:016x}"
        or with_cap["ns_last_pid"] != "ok"
        or with_cap["clone3_set_tid"] != 777
    ):
        return failed(f"with only CAP_CHECKPOINT_RESTORE: {with_cap}", **evidence)
    if without["ns_last_pid"] != "EPERM" or without["clone3_set_tid"] != "EPERM":
        return failed(f"without capabilities: {without}", **evidence)
    return passed(
        "uid 65534 with only CAP_CHECKPOINT_RESTORE (CapEff "
        f"{with_cap['cap_eff']}) wrote ns_last_pid and got pid 777; without any "
        "capability both were EPERM",
        **evidence,
    )


# --- restart strategy ------------------------------------------------------------


@probe(
    "cr.restart.ns_last_pid",
    title="Writing ns_last_pid picks the next pid in a pid namespace",
    item=RESTART,
    since="3.3",
    config=("CONFIG_CHECKPOINT_RESTORE", "CONFIG_PID_NS"),
)
def cr_restart_ns_last_pid(ctx: ProbeContext) -> Verdict:
    """Pass: in a fresh pid namespace (never the host's), after writing N-1 the next
    fork gets pid N, for N = 100 and 5000."""
    unshare_new(CLONE_NEWPID, "CLONE_NEWPID", "max_pid_namespaces")  # next child is its init

    def init() -> list[int]:
        got = []
        for wanted in (100, 5000):
            write_once("/proc/sys/kernel/ns_last_pid", str(wanted - 1))
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            got.append(pid)
        return got

    got = child_result(init)
    if got != [100, 5000]:
        return failed(f"after writing 99 and 4999 the children got pids {got}", pids=got)
    return passed(
        "after writing 99 and 4999 to ns_last_pid the next children got pids 100 and 5000", pids=got
    )


def _free_host_pid() -> int:
    """A pid nobody uses, well ahead of where the host allocates now and below pid_max."""
    pid_max = int(read_text("/proc/sys/kernel/pid_max") or 32768)
    last = int(read_text("/proc/sys/kernel/ns_last_pid") or 300)
    low, high = last + 500, pid_max - 1000
    if low >= high:  # the allocator is about to wrap: pick from the bottom instead
        low, high = 1000, max(1001, last - 1000)
    for _ in range(100):
        candidate = random.randrange(low, high)
        if not os.path.exists(f"/proc/{candidate}"):
            return candidate
    raise RuntimeError("found no free host pid")


def _new_init(report: int) -> None:  # pragma: no cover - runs as a clone3 child
    """pid 1 of the new namespace: try set_tid cases, report as JSON, leave."""
    out: dict[str, Any] = {"pid": os.getpid()}
    try:
        out["inner"] = clone3_and_reap([4242])
        for name, tids in (("existing", [1]), ("too_deep", [5, 6, 7, 8])):
            try:
                out[name] = clone3_and_reap(tids)
            except OSError as err:
                out[name] = errno_name(err)
    except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
        out["error"] = repr(exc)
    finally:
        os.write(report, json.dumps(out).encode())
        os._exit(0)


@probe(
    "cr.restart.clone3_set_tid",
    title="clone3 set_tid chooses a task's pid in every pid namespace level",
    item=RESTART,
    since="5.5",
    config=("CONFIG_PID_NS",),
    intrusive=True,  # occupies one chosen host pid for a moment
)
def cr_restart_clone3_set_tid(ctx: ProbeContext) -> Verdict:
    """Pass: clone3(CLONE_NEWPID, set_tid=[1, X]) gives host pid X and pid 1 inside; there
    set_tid [4242] gives 4242, an existing pid EEXIST, and more levels than exist EINVAL."""
    report_r, report_w = os.pipe()
    attempts = []
    try:
        for _ in range(3):
            wanted = _free_host_pid()
            try:
                pid = clone3(CLONE_NEWPID, [1, wanted])
            except OSError as err:
                if err.errno == errno.EEXIST:
                    attempts.append(wanted)  # somebody took it meanwhile: pick again
                    continue
                if err.errno in (errno.EINVAL, errno.E2BIG, errno.ENOSYS):
                    # first use: no clone3 (5.3) or no set_tid in struct clone_args (5.5)
                    raise unsupported(
                        f"clone3() with set_tid is not known to this kernel ({errno_name(err)})",
                        errno=errno_name(err),
                    ) from err
                raise
            if pid == 0:
                _new_init(report_w)
            break
        else:
            return failed(
                f"host pids {attempts} were all taken by the time clone3 ran", attempts=attempts
            )
        os.close(report_w)
        report_w = -1
        ready = select.select([report_r], [], [], 5.0)[0]
        raw = os.read(report_r, 4096) if ready else b""
        os.waitpid(pid, 0)
    finally:
        os.close(report_r)
        if report_w >= 0:
            os.close(report_w)
    inside = json.loads(raw) if raw else {}
    evidence = {"wanted": wanted, "host_pid": pid, "inside": inside, "retries": attempts}
    if (
        pid != wanted
        or inside.get("pid") != 1
        or inside.get("inner") != 4242
        or inside.get("existing") != "EEXIST"
        or inside.get("too_deep") != "EINVAL"
    ):
        return failed(f"asked for host pid {wanted}, got {pid}; inside: {inside}", **evidence)
    return passed(
        f"host pid {pid} as asked, pid 1 inside; set_tid 4242 honoured, an "
        "existing pid EEXIST, too many levels EINVAL",
        **evidence,
    )


def _write_offsets(text: str) -> str:
    """Write /proc/self/timens_offsets in one write(); "ok" or the errno name."""
    try:
        write_once("/proc/self/timens_offsets", text)
        return "ok"
    except OSError as err:
        return errno_name(err)


@probe(
    "cr.restart.timens_restore",
    title="Time namespace offsets restore the clocks a checkpoint recorded",
    item=RESTART,
    since="5.6",
    config=("CONFIG_TIME_NS",),
)
def cr_restart_timens_restore(ctx: ProbeContext) -> Verdict:
    """Pass: with the checkpoint's CLOCK_MONOTONIC/BOOTTIME taken as half of now, a child
    in the new time namespace reads both within 2 s of them; an offset that would make
    monotonic negative is ERANGE, a nanosecond part >= 1e9 EINVAL."""
    mono_now = time.clock_gettime(time.CLOCK_MONOTONIC)
    boot_now = time.clock_gettime(time.CLOCK_BOOTTIME)
    offset = -int(mono_now // 2)  # the checkpoint was taken when monotonic read half of now
    saved = {"monotonic": mono_now + offset, "boottime": boot_now + offset}
    unshare_new(CLONE_NEWTIME, "CLONE_NEWTIME", "max_time_namespaces")  # children enter it
    too_negative = _write_offsets(f"monotonic {-int(mono_now) - 1000} 0\n")
    bad_nsec = _write_offsets("monotonic 0 1000000000\n")
    applied = _write_offsets(f"monotonic {offset} 0\nboottime {offset} 0\n")
    if applied != "ok":
        raise OSError(getattr(errno, applied, errno.EIO), f"timens_offsets: {applied}")
    read = child_result(
        lambda: {
            "monotonic": time.clock_gettime(time.CLOCK_MONOTONIC),
            "boottime": time.clock_gettime(time.CLOCK_BOOTTIME),
        }
    )
    drift = {k: round(read[k] - saved[k], 3) for k in saved}
    evidence = {
        "offset_s": offset,
        "saved": saved,
        "child_read": read,
        "drift_s": drift,
        "too_negative": too_negative,
        "bad_nsec": bad_nsec,
    }
    if any(not 0 <= d < 2 for d in drift.values()):
        return failed(f"the child's clocks are off the saved values by {drift} s", **evidence)
    if too_negative != "ERANGE" or bad_nsec != "EINVAL":
        return failed(
            f"bad offsets gave {too_negative} (want ERANGE) and {bad_nsec} (want EINVAL)",
            **evidence,
        )
    return passed(
        f"restored monotonic {read['monotonic']:.1f} s vs saved "
        f"{saved['monotonic']:.1f} s (offset {offset} s); too negative ERANGE, "
        "bad nsec EINVAL",
        **evidence,
    )


# --- full C/R with CRIU ----------------------------------------------------------

# The workload: in-memory state (a counter) written out every 50 ms, so a restored
# process is seen continuing from where it was dumped rather than starting over.
_LOOP = """
import os, sys, time
path, n = sys.argv[1], 0
while True:
    n += 1
    with open(path + ".tmp", "w") as f:
        f.write(str(n))
    os.replace(path + ".tmp", path)
    time.sleep(0.05)
"""


def _tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _log_tail(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return _tail(f.read())
    except OSError:
        return ""


def _criu_reason(output: str) -> str:
    """The first telling error line of CRIU's output (not its "exited, status" noise)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if "Error" in line and "exited, status" not in line:
            return line.split("): ", 1)[-1]
    return lines[-1] if lines else "no output"


def _read_count(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read() or 0)
    except (OSError, ValueError):
        return 0


def _criu(criu: str, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [criu, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


@probe(
    "cr.full.criu_dump_restore",
    title="CRIU dumps a running process and restores it with the same pid and state",
    item=CHECKPOINT,
    since="3.11",
    config=("CONFIG_CHECKPOINT_RESTORE", "CONFIG_NAMESPACES", "CONFIG_PID_NS"),
    timeout=120.0,  # criu: version 10 s + check, dump, restore 30 s each + workload waits
)
def cr_full_criu_dump_restore(ctx: ProbeContext) -> Verdict:
    """Pass: ``criu dump`` and ``criu restore`` succeed, the same pid is alive again and
    its counter continues from the dumped value. A missing criu, or ``criu check``
    failing (e.g. CRIU 3.17 on >= 6.13 kernels: vvar_vclock), is skipped: the tool,
    not the kernel, is what could not run. Fail only when check passes but the
    dump or restore breaks."""
    criu = find_tool("criu")
    if criu is None:
        raise skipped("criu is not installed")
    version = _criu(criu, "--version", timeout=10.0)
    evidence: dict[str, Any] = {"criu": criu, "version": _tail(version.stdout or version.stderr, 2)}
    if version.returncode != 0:
        raise skipped(f"criu --version failed (rc {version.returncode})", **evidence)
    check = _criu(criu, "check")
    evidence.update(check_rc=check.returncode, check_output=_tail(check.stderr + check.stdout))
    if check.returncode != 0:
        reason = _criu_reason(check.stderr + check.stdout)
        if "vDSO area bounds" in reason:
            reason += " (this CRIU does not know the [vvar_vclock] mapping of kernels >= 6.13)"
        raise skipped(f"criu check failed, so CRIU cannot run here: {reason}", **evidence)
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # the restored task is re-parented to us
    scratch = ctx.scratch("criu")
    images = os.path.join(scratch, "images")
    os.mkdir(images)
    state = os.path.join(scratch, "count")
    loop = subprocess.Popen(
        [sys.executable, "-c", _LOOP, state],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        cwd="/",
    )
    pid = loop.pid
    restored = False  # whether ``pid`` is (again) a process of ours that we may kill
    try:
        if not cgroupfs.wait_until(lambda: _read_count(state) > 2, 10.0, 0.01):
            raise Verdict(Status.ERROR, "the workload never started counting", **evidence)
        dump = _criu(
            criu, "dump", "-t", str(pid), "-D", images, "-o", "dump.log", "-v2", timeout=30.0
        )
        evidence["dump_rc"] = dump.returncode
        if dump.returncode != 0:  # the task lives on; finally kills it
            evidence["dump_log"] = _log_tail(os.path.join(images, "dump.log"))
            return failed(
                f"criu check passed but criu dump failed (rc {dump.returncode})", **evidence
            )
        loop.wait(5.0)  # dump killed the task; reap it so its pid is free for the restore
        evidence["dumped_at"] = dumped_at = _read_count(state)
        restore = _criu(
            criu, "restore", "-D", images, "-d", "-o", "restore.log", "-v2", timeout=30.0
        )
        evidence["restore_rc"] = restore.returncode
        if restore.returncode != 0:
            evidence["restore_log"] = _log_tail(os.path.join(images, "restore.log"))
            return failed(
                f"criu dump worked but criu restore failed (rc {restore.returncode})", **evidence
            )
        # Restored detached, the task was re-parented to us (the subreaper) by criu's exit.
        alive = os.path.exists(f"/proc/{pid}")
        restored = alive and stat_field(stat_fields(pid), 4) == os.getpid()
        continued = cgroupfs.wait_until(lambda: _read_count(state) > dumped_at + 2, 5.0, 0.01)
        evidence.update(alive=alive, count_after=_read_count(state), continued=continued)
    finally:
        if loop.returncode is None:  # never reaped: still the workload we started
            loop.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                loop.wait(5.0)
        elif restored:  # never signal a reaped pid that is not our child again
            os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        shutil.rmtree(scratch, ignore_errors=True)
    if not alive or not continued:
        return failed(
            f"after restore pid {pid} alive: {alive}; counter went on from "
            f"{dumped_at}: {continued}",
            **evidence,
        )
    return passed(
        f"dumped pid {pid} at count {dumped_at}, restored it with the same pid and "
        f"it counted on to {evidence['count_after']}",
        **evidence,
    )
