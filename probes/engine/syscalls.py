"""Thin ctypes wrappers for the syscalls Python 3.11 lacks, and their constants.

Every integer argument is passed as ``c_long`` so 64-bit flags such as
CLONE_INTO_CGROUP are not truncated; failures raise ``OSError`` with errno.
Numbers are for x86_64 (asm-generic numbers for the post-4.x syscalls are
the same on every architecture; older ones are looked up by machine).
"""

from __future__ import annotations

import ctypes
import os
import platform

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

_MACHINE = platform.machine()

# Syscalls before 4.x differ per architecture; newer ones share asm-generic numbers.
_LEGACY = {
    "x86_64": {
        "ptrace": 101,
        "capget": 125,
        "capset": 126,
        "prctl": 157,
        "mount": 165,
        "umount2": 166,
        "swapon": 167,
        "swapoff": 168,
        "sethostname": 170,
        "shmget": 29,
        "unshare": 272,
        "setns": 308,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "kcmp": 312,
        "perf_event_open": 298,
        "bpf": 321,
        "userfaultfd": 323,
        "add_key": 248,
        "keyctl": 250,
    },
    "aarch64": {
        "ptrace": 117,
        "capget": 90,
        "capset": 91,
        "prctl": 167,
        "mount": 40,
        "umount2": 39,
        "swapon": 224,
        "swapoff": 225,
        "sethostname": 161,
        "shmget": 194,
        "unshare": 97,
        "setns": 268,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "kcmp": 272,
        "perf_event_open": 241,
        "bpf": 280,
        "userfaultfd": 282,
        "add_key": 217,
        "keyctl": 219,
    },
}
_GENERIC = {
    "pidfd_send_signal": 424,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "pidfd_open": 434,
    "clone3": 435,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
}
NR: dict[str, int] = {**_LEGACY.get(_MACHINE, _LEGACY["x86_64"]), **_GENERIC}

# clone / unshare flags
CLONE_NEWTIME = 0x80
CLONE_NEWNS = 0x20000
CLONE_NEWCGROUP = 0x2000000
CLONE_NEWUTS = 0x4000000
CLONE_NEWIPC = 0x8000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_PIDFD = 0x1000
CLONE_INTO_CGROUP = 0x200000000

# mount flags
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MNT_DETACH = 2

# prctl
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_MM = 35
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1


class MountAttr(ctypes.Structure):
    """struct mount_attr for mount_setattr(2) (MOUNT_ATTR_SIZE_VER0, 32 bytes)."""

    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def _arg(value: object) -> object:
    if isinstance(value, int):
        return ctypes.c_long(value)
    if isinstance(value, str):
        return ctypes.c_char_p(os.fsencode(value))
    return value  # bytes, None, ctypes pointers and buffers pass as they are


def syscall(name: str, *args: object) -> int:
    """Call syscall ``name``; raise OSError on -1."""
    ret = libc.syscall(ctypes.c_long(NR[name]), *(_arg(a) for a in args))
    if ret == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")
    return ret


def unshare(flags: int) -> None:
    syscall("unshare", flags)


def setns(fd: int, nstype: int = 0) -> None:
    syscall("setns", fd, nstype)


def mount(
    source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None
) -> None:
    syscall("mount", source, target, fstype, flags, data)


def umount(target: str, flags: int = MNT_DETACH) -> None:
    syscall("umount2", target, flags)


def make_mounts_private() -> None:
    """After unshare(CLONE_NEWNS): stop mounts propagating back to the host."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def sethostname(name: str) -> None:
    raw = name.encode()
    syscall("sethostname", raw, len(raw))


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return syscall("prctl", option, arg2, arg3, arg4, arg5)
