"""The runner's side of cleanup: remove what a probe registered, even after a kill.

Only names a probe could have made are touched (``probe_`` prefix, under
/tmp or a cgroup hierarchy), so a bad registration can never remove
anything else on the host.
"""

from __future__ import annotations

import contextlib
import os
import shutil

from . import cgroupfs
from .syscalls import MNT_DETACH, syscall

CGROUP_ROOTS = ("/sys/fs/cgroup/", "/tmp/probe_")


class RefusedPath(ValueError):
    pass


def _check(kind: str, path: str) -> str:
    path = os.path.normpath(path)
    if not os.path.basename(path).startswith("probe_") and "/probe_" not in path:
        raise RefusedPath(f"{kind} {path} is not a probe's name")
    if kind == "cgroup":
        if not path.startswith(CGROUP_ROOTS):
            raise RefusedPath(f"cgroup {path} is outside the cgroup hierarchies")
    elif not path.startswith("/tmp/probe_"):
        raise RefusedPath(f"{kind} {path} is outside /tmp/probe_*")
    return path


def remove(kind: str, path: str) -> str | None:
    """Remove one registered thing; return a sentence when something was left."""
    try:
        path = _check(kind, path)
        if kind == "mount":
            _detach(path)
        elif kind == "cgroup":
            cgroupfs.remove(path, timeout=2.0)
        else:
            _remove_path(path)
    except (OSError, RefusedPath) as err:
        return f"could not remove {kind} {path}: {err}"
    return None


def _detach(path: str) -> None:
    with contextlib.suppress(OSError):  # EINVAL: not a mount point (any more)
        syscall("umount2", path, MNT_DETACH)


def _mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return sorted((p for p in points if p == path or p.startswith(path + "/")), reverse=True)


def _remove_path(path: str) -> None:
    for point in _mounts_under(path):
        _detach(point)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
        if os.path.exists(path):
            os.rmdir(path)
    elif os.path.lexists(path):
        os.unlink(path)
