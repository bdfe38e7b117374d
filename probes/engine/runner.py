"""The runner: every probe in a forked child with a deadline, in parallel, cleaned up.

Each probe runs in its own process group. Its result comes back over a
pipe (``channel``); past its deadline the whole group is killed and the
result is ``timeout``. Whatever the probe registered for cleanup is removed
here, in the parent, after the group is dead. The runner is a child
subreaper, so grandchildren that escaped with ``setsid()`` are reparented
to it and killed too. After the last probe the janitor sweeps the host for
anything left anyway (``janitor.py``); its findings travel with the results.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import channel, cleanup
from . import janitor as janitor_module
from .catalogue import Probe
from .context import ProbeContext
from .kconfig import KernelConfig
from .process import describe_wait_status, wait_exit
from .results import ProbeResult, Status
from .syscalls import PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, PR_SET_PDEATHSIG, prctl
from .verdicts import Verdict, verdict_from_oserror

ResultCallback = Callable[[ProbeResult], None]

KILL_WAIT = 2.0  # seconds for a SIGKILLed process to exit before cleanup goes ahead anyway
STUCK_WAIT = 3.0  # more seconds after cleanup (which thaws frozen cgroups) before giving up


class RunResults(list[ProbeResult]):
    """The results in catalogue order, plus what the post-run janitor found and removed."""

    def __init__(
        self, results: Iterable[ProbeResult] = (), janitor: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(results)
        self.janitor: list[dict[str, Any]] = janitor or []


@dataclass
class _Running:
    probe: Probe
    pid: int
    reader: channel.Reader
    started: float
    deadline: float
    registered: list[tuple[str, str]] = field(default_factory=list)
    pidfd: int | None = None  # readable once the probe process exited (None before 5.3)
    status: int | None = None  # raw wait status once reaped


def run(
    probes: Iterable[Probe],
    *,
    jobs: int | None = None,
    timeout: float | None = None,
    kernel_config: KernelConfig | None = None,
    on_result: ResultCallback | None = None,
    janitor: bool = True,
) -> RunResults:
    """Run ``probes`` and return their results in catalogue order.

    Exclusive probes are started first, each alone; the others follow in the
    given order, ``jobs`` at a time. ``timeout`` overrides every probe's own
    deadline; ``on_result`` is called as each probe finishes. The calling
    process must have no other children: as a subreaper it kills every child
    that belongs to no running probe.
    With ``janitor`` (the default) the host is swept after the last probe and
    the findings are in the returned list's ``janitor`` attribute. An
    exception (KeyboardInterrupt, or one raised by ``on_result``) still kills
    and cleans up every running probe before it propagates.
    """
    given = list(probes)
    order = {p.id: i for i, p in enumerate(given)}
    # Exclusive probes first, while nothing else runs: one met later in the list would
    # have to wait for every running probe to end, leaving CPUs idle meanwhile.
    pending = [p for p in given if p.exclusive] + [p for p in given if not p.exclusive]
    jobs = max(1, jobs or os.cpu_count() or 1)
    running: dict[int, _Running] = {}  # keyed by the result pipe's read end
    results: list[ProbeResult] = []
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    before = janitor_module.baseline() if janitor else None

    def finish(job: _Running, result: ProbeResult) -> None:
        del running[job.reader.fd]
        leftovers = _stop(job)
        if leftovers:  # a probe bug: say so beside what it observed
            result.evidence["cleanup_failed"] = leftovers
        if result.status is not Status.PASS and kernel_config is not None:
            result.config = kernel_config.explain(job.probe.config)
        results.append(result)
        _reap_orphans({j.pid for j in running.values()})
        if on_result is not None:
            on_result(result)

    findings: list[dict[str, Any]] = []
    try:
        while pending or running:
            while pending and len(running) < jobs:
                nxt = pending[0]
                # Timing probes run alone; nothing starts beside them.
                if running and (nxt.exclusive or any(j.probe.exclusive for j in running.values())):
                    break
                pending.pop(0)
                job = _start(nxt, timeout, inherited=list(running))
                running[job.reader.fd] = job
            now = time.monotonic()
            wait = max(0.0, min(j.deadline for j in running.values()) - now)
            watched = {fd: job for fd, job in running.items() if not job.reader.eof}
            watched.update({job.pidfd: job for job in running.values() if job.pidfd is not None})
            ready, _, _ = select.select(list(watched), [], [], wait)
            for fd in ready:
                job = watched[fd]
                if running.get(job.reader.fd) is not job:
                    continue  # both its fds were ready and it already finished
                result = _read(job, exited=fd == job.pidfd)
                if result is not None:
                    finish(job, result)
            now = time.monotonic()
            for job in list(running.values()):
                if now >= job.deadline:
                    finish(
                        job,
                        _result(
                            job,
                            Status.TIMEOUT,
                            f"no result within {job.deadline - job.started:.1f} s; "
                            "its process group was killed",
                        ),
                    )
    finally:
        for job in list(running.values()):  # interrupted: nothing outlives the run
            del running[job.reader.fd]
            _stop(job)
        _reap_orphans(set())
        if before is not None:
            findings = janitor_module.sweep(before)
    results.sort(key=lambda r: order[r.probe_id])
    return RunResults(results, findings)


def _start(probe: Probe, timeout: float | None, inherited: Iterable[int] = ()) -> _Running:
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the probe's process
        os.close(read_fd)
        for fd in inherited:  # other probes' result pipes are none of its business
            with contextlib.suppress(OSError):
                os.close(fd)
        _probe_main(probe, write_fd)
    os.close(write_fd)
    with contextlib.suppress(OSError):  # the child may already have done it
        os.setpgid(pid, pid)
    pidfd = None
    with contextlib.suppress(OSError):  # pidfd_open needs 5.3; EOF on the pipe still works
        pidfd = os.pidfd_open(pid)
    deadline = started + (timeout if timeout is not None else probe.timeout)
    return _Running(probe, pid, channel.Reader(read_fd), started, deadline, pidfd=pidfd)


def _probe_main(probe: Probe, fd: int) -> None:  # pragma: no cover - child
    try:
        os.setpgid(0, 0)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the runner died: so do we
        # An agent that dropped privileges is not dumpable, which makes its own
        # /proc/self/{ns,uid_map} root-owned: probes must be able to read them.
        prctl(PR_SET_DUMPABLE, 1)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        # stdout may carry the run's JSON: no probe or tool it runs may write there.
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        try:
            verdict = probe.func(ProbeContext(probe, fd))
            if not isinstance(verdict, Verdict):
                verdict = Verdict(Status.ERROR, f"probe returned {verdict!r}, not a verdict")
        except Verdict as raised:
            verdict = raised
        except OSError as err:
            verdict = verdict_from_oserror(err)
        except BaseException as exc:  # noqa: BLE001 - a broken probe is a result
            lines = traceback.format_exception(exc)
            verdict = Verdict(
                Status.ERROR,
                f"probe raised {type(exc).__name__}: {exc}",
                traceback="".join(lines[-6:]),
            )
        channel.send(
            fd,
            {
                "kind": "result",
                "status": verdict.status.value,
                "detail": verdict.detail,
                "evidence": verdict.evidence,
            },
        )
    finally:
        os._exit(0)


def _read(job: _Running, exited: bool = False) -> ProbeResult | None:
    """Consume what the probe sent; a result (or its death) ends the job.

    ``exited``: its pidfd said the probe process is gone, so whatever it sent
    is already in the pipe (a grandchild may hold the pipe open: no EOF).
    """
    try:
        records = _drain(job.reader) if exited else job.reader.feed()
    except ValueError as err:  # a record that is not JSON: something wrote into the pipe
        return _result(job, Status.ERROR, f"unreadable message from the probe: {err}")
    result = _take(job, records)
    if result is not None:
        return result
    if exited or (job.reader.eof and job.pidfd is None):
        if job.pidfd is None:  # no pidfd: EOF is the only sign; wait for the exit itself
            wait_exit(job.pid, max(0.0, job.deadline - time.monotonic()))
        job.status = _wait(job.pid, block=False)
        how = describe_wait_status(job.status) if job.status is not None else "still running"
        return _result(job, Status.ERROR, f"probe process ended without a result ({how})")
    return None  # EOF with a live process: its pidfd or its deadline ends it


def _take(job: _Running, records: list[dict[str, Any]]) -> ProbeResult | None:
    """File cleanup registrations; return the result record when there is one."""
    result = None
    for record in records:
        if record.get("kind") == "cleanup":
            job.registered.append((str(record["what"]), str(record["path"])))
        elif record.get("kind") == "result" and result is None:
            result = _result(
                job, Status(record["status"]), str(record["detail"]), record.get("evidence") or {}
            )
    return result


def _drain(reader: channel.Reader) -> list[dict[str, Any]]:
    """Every record already in the pipe, without blocking."""
    records: list[dict[str, Any]] = []
    while not reader.eof:
        ready, _, _ = select.select([reader.fd], [], [], 0)
        if not ready:
            break
        records += reader.feed()
    return records


def _result(
    job: _Running, status: Status, detail: str, evidence: dict | None = None
) -> ProbeResult:
    return ProbeResult(
        probe_id=job.probe.id,
        status=status,
        detail=detail,
        evidence=evidence or {},
        duration_ms=round((time.monotonic() - job.started) * 1000, 2),
    )


def _wait(pid: int, block: bool = True) -> int | None:
    """Reap ``pid``; its raw status, or None when it is gone or (not blocking) still running."""
    try:
        reaped, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return None
    return status if reaped else None


def _stop(job: _Running) -> list[str]:
    """Kill the probe's whole group, reap it, remove what it registered.

    Returns a sentence for each registered thing that could not be removed.
    Waits are bounded: a member stuck in a frozen v1 cgroup only dies once
    cleanup thaws that cgroup, so cleanup must not wait for it first.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(job.pid, signal.SIGKILL)
    exited = job.status is not None or wait_exit(job.pid, KILL_WAIT)
    if job.status is None and exited:
        job.status = _wait(job.pid)
    with contextlib.suppress(ValueError):  # registrations sent just before the end
        _take(job, _drain(job.reader))
    os.close(job.reader.fd)
    if job.pidfd is not None:
        os.close(job.pidfd)
    leftovers = []
    # Cgroups before paths: a private v1 hierarchy is mounted under /tmp/probe_*.
    rank = {"cgroup": 0, "mount": 1, "path": 2}
    for kind, path in sorted(reversed(job.registered), key=lambda kp: rank.get(kp[0], 3)):
        problem = cleanup.remove(kind, path)
        if problem:
            leftovers.append(problem)
    if not exited:
        if wait_exit(job.pid, STUCK_WAIT):
            job.status = _wait(job.pid)
        else:
            leftovers.append(f"probe process {job.pid} did not die after SIGKILL")
    return leftovers


def _children() -> list[int]:
    pids: list[int] = []
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/children") as f:
            pids.extend(int(p) for p in f.read().split())
    return pids


def _reap_orphans(active: set[int], passes: int = 10) -> None:
    """Kill and reap reparented grandchildren that belong to no running probe.

    Killing one orphan reparents its own children to us, so repeat until a
    pass finds nothing new. Waits are bounded (an orphan frozen in a v1
    cgroup nobody thaws would otherwise hang the runner).
    """
    tried: set[int] = set()
    for _ in range(passes):
        orphans = []
        for pid in _children():
            if pid in active or pid in tried:
                continue
            try:
                if os.getpgid(pid) in active:
                    continue  # still part of a probe that is running
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            orphans.append(pid)
        if not orphans:
            return
        tried.update(orphans)
        for pid in orphans:
            wait_exit(pid, KILL_WAIT)
            _wait(pid, block=False)
