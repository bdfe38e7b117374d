"""How a probe ends: a ``Verdict`` it returns (or raises from deep inside).

A probe returns ``passed(...)``/``failed(...)`` etc.; anything that is not a
pass may also be raised, so a helper several calls deep can end the probe.
An ``OSError`` that escapes a probe is classified by its errno (see
``verdict_from_oserror``); probes catch the ambiguous ones themselves.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from typing import Any

from .results import Status


class Verdict(Exception):  # noqa: N818 - it is an outcome, not an error
    def __init__(self, status: Status, detail: str, /, **evidence: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.evidence = evidence


def passed(detail: str, /, **evidence: Any) -> Verdict:
    return Verdict(Status.PASS, detail, **evidence)


def failed(detail: str, /, **evidence: Any) -> Verdict:
    return Verdict(Status.FAIL, detail, **evidence)


def unsupported(detail: str, /, **evidence: Any) -> Verdict:
    return Verdict(Status.UNSUPPORTED, detail, **evidence)


def disabled(detail: str, /, **evidence: Any) -> Verdict:
    return Verdict(Status.DISABLED, detail, **evidence)


def denied(detail: str, /, **evidence: Any) -> Verdict:
    return Verdict(Status.DENIED, detail, **evidence)


def skipped(detail: str, /, **evidence: Any) -> Verdict:
    return Verdict(Status.SKIPPED, detail, **evidence)


def errno_name(err: OSError | int | None) -> str:
    """ "EPERM" for an OSError or an errno number (the evidence's spelling)."""
    code = err.errno if isinstance(err, OSError) else err
    return errno.errorcode.get(code or 0, str(code))


_UNSUPPORTED_ERRNOS = {errno.ENOSYS, errno.ENOTTY, errno.EOPNOTSUPP}
_DISABLED_ERRNOS = {errno.ENOSPC, errno.EUSERS}
_DENIED_ERRNOS = {errno.EPERM, errno.EACCES}


def verdict_from_oserror(err: OSError, what: str = "") -> Verdict:
    """Classify an errno that escaped a probe (the catalogue's section 1 rules).

    EINVAL is not mapped here: it means "unknown flag" only on the first call
    that introduces a feature, which only the probe knows (see ``introducing``).
    """
    code = err.errno or 0
    name = errno_name(code)
    where = f"{what}: " if what else ""
    if code in _UNSUPPORTED_ERRNOS:
        return unsupported(f"{where}the kernel answered {name}", errno=name)
    if code in _DISABLED_ERRNOS:
        return disabled(f"{where}{name}: switched off by a namespace limit", errno=name)
    if code in _DENIED_ERRNOS:
        return denied(f"{where}{name}: not enough privilege", errno=name)
    return Verdict(Status.ERROR, f"{where}unexpected {name}: {err.strerror}", errno=name)


@contextlib.contextmanager
def introducing(feature: str) -> Iterator[None]:
    """Wrap the first call that introduces ``feature``: there EINVAL (and ENOSYS,
    ENOENT of an interface file, ENODEV of a filesystem type) mean the kernel
    does not know it."""
    try:
        yield
    except OSError as err:
        # ENODEV: mount() of a filesystem type the kernel does not have.
        if err.errno in (errno.EINVAL, errno.ENOENT, errno.ENODEV, *_UNSUPPORTED_ERRNOS):
            name = errno_name(err)
            raise unsupported(
                f"{feature} is not known to this kernel ({name})", errno=name
            ) from err
        raise verdict_from_oserror(err, feature) from err
