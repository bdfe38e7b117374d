"""The runner: every probe in a forked child with a deadline, in parallel, cleaned up.

Each probe runs in its own process group. Its result comes back over a
pipe (``channel``); past its deadline the whole group is killed and the
result is ``timeout``. Whatever the probe registered for cleanup is removed
here, in the parent, after the group is dead. The runner is a child
subreaper, so grandchildren that escaped with ``setsid()`` are reparented
to it and killed too.
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

from . import channel, cleanup
from .catalogue import Probe
from .context import ProbeContext
from .kconfig import KernelConfig
from .process import describe_wait_status
from .results import ProbeResult, Status
from .syscalls import PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG, prctl
from .verdicts import Verdict, verdict_from_oserror

ResultCallback = Callable[[ProbeResult], None]


@dataclass
class _Running:
    probe: Probe
    pid: int
    reader: channel.Reader
    started: float
    deadline: float
    registered: list[tuple[str, str]] = field(default_factory=list)


def run(
    probes: Iterable[Probe],
    *,
    jobs: int | None = None,
    timeout: float | None = None,
    kernel_config: KernelConfig | None = None,
    on_result: ResultCallback | None = None,
) -> list[ProbeResult]:
    """Run ``probes`` and return their results in catalogue order.

    ``timeout`` overrides every probe's own deadline; ``on_result`` is called
    as each probe finishes. The calling process must have no other children:
    as a subreaper it kills every child that belongs to no running probe.
    """
    pending = list(probes)
    order = {p.id: i for i, p in enumerate(pending)}
    jobs = max(1, jobs or os.cpu_count() or 1)
    running: dict[int, _Running] = {}
    results: list[ProbeResult] = []
    prctl(PR_SET_CHILD_SUBREAPER, 1)

    def finish(job: _Running, result: ProbeResult) -> None:
        leftovers = _stop(job)
        if leftovers:  # a probe bug: say so beside what it observed
            result.evidence["cleanup_failed"] = leftovers
        if result.status is not Status.PASS and kernel_config is not None:
            result.config = kernel_config.explain(job.probe.config)
        results.append(result)
        _reap_orphans({j.pid for j in running.values()})
        if on_result is not None:
            on_result(result)

    while pending or running:
        while pending and len(running) < jobs:
            nxt = pending[0]
            # Timing probes run alone; nothing starts beside them.
            if running and (nxt.exclusive or any(j.probe.exclusive for j in running.values())):
                break
            pending.pop(0)
            job = _start(nxt, timeout)
            running[job.reader.fd] = job
        now = time.monotonic()
        wait = max(0.0, min(j.deadline for j in running.values()) - now)
        ready, _, _ = select.select(list(running), [], [], wait)
        for fd in ready:
            job = running[fd]
            result = _read(job)
            if result is not None:
                del running[fd]
                finish(job, result)
        now = time.monotonic()
        for fd, job in list(running.items()):
            if now >= job.deadline:
                del running[fd]
                finish(job, _result(job, Status.TIMEOUT,
                                    f"no result within {job.deadline - job.started:.1f} s; "
                                    "its process group was killed"))
    results.sort(key=lambda r: order[r.probe_id])
    return results


def _start(probe: Probe, timeout: float | None) -> _Running:
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the probe's process
        os.close(read_fd)
        _probe_main(probe, write_fd)
    os.close(write_fd)
    with contextlib.suppress(OSError):  # the child may already have done it
        os.setpgid(pid, pid)
    deadline = started + (timeout if timeout is not None else probe.timeout)
    return _Running(probe, pid, channel.Reader(read_fd), started, deadline)


def _probe_main(probe: Probe, fd: int) -> None:  # pragma: no cover - child
    try:
        os.setpgid(0, 0)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the runner died: so do we
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
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
            verdict = Verdict(Status.ERROR, f"probe raised {type(exc).__name__}: {exc}",
                              traceback="".join(lines[-6:]))
        channel.send(fd, {"kind": "result", "status": verdict.status.value,
                          "detail": verdict.detail, "evidence": verdict.evidence})
    finally:
        os._exit(0)


def _read(job: _Running) -> ProbeResult | None:
    """Consume what the probe sent; a result (or its death) ends the job."""
    for record in job.reader.feed():
        if record.get("kind") == "cleanup":
            job.registered.append((record["what"], record["path"]))
        elif record.get("kind") == "result":
            return _result(job, Status(record["status"]), record["detail"],
                           record.get("evidence") or {})
    if job.reader.eof:
        status = _wait(job.pid)
        how = describe_wait_status(status) if status is not None else "gone"
        return _result(job, Status.ERROR, f"probe process ended without a result ({how})")
    return None


def _result(job: _Running, status: Status, detail: str, evidence: dict | None = None
            ) -> ProbeResult:
    return ProbeResult(
        probe_id=job.probe.id,
        status=status,
        detail=detail,
        evidence=evidence or {},
        duration_ms=round((time.monotonic() - job.started) * 1000, 2),
    )


def _wait(pid: int) -> int | None:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None


def _stop(job: _Running) -> list[str]:
    """Kill the probe's whole group, reap it, remove what it registered.

    Returns a sentence for each registered thing that could not be removed.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(job.pid, signal.SIGKILL)
    _wait(job.pid)
    os.close(job.reader.fd)
    leftovers = []
    # Cgroups before paths: a private v1 hierarchy is mounted under /tmp/probe_*.
    rank = {"cgroup": 0, "mount": 1, "path": 2}
    for kind, path in sorted(reversed(job.registered), key=lambda kp: rank.get(kp[0], 3)):
        problem = cleanup.remove(kind, path)
        if problem:
            leftovers.append(problem)
    return leftovers


def _children() -> list[int]:
    pids: list[int] = []
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/children") as f:
            pids.extend(int(p) for p in f.read().split())
    return pids


def _reap_orphans(active: set[int]) -> None:
    """Kill and reap reparented grandchildren that belong to no running probe."""
    for pid in _children():
        if pid in active:
            continue
        try:
            if os.getpgid(pid) in active:
                continue  # still part of a probe that is running
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
