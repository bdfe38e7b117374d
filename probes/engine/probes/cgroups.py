"""Task containers (cgroups): roadmap item 3, catalogue section 4.

Every probe creates its cgroups under the agent's own cgroup of the hierarchy
(``cgroupfs.create``, registered before mkdir) and moves only a disposable
workload child in: the probe process itself never enters a probe cgroup. A
probe passes only when the limit was enforced on that child (a fork refused,
an OOM kill, a frozen counter, a throttled spinner, an open denied...).

Host layout (catalogue section 4): a v2 controller probe is ``unsupported``
"bound to cgroup v1 hierarchy N" when /proc/cgroups shows it on v1; host v1
hierarchies are never unmounted. Throwaway v1 hierarchies (named, hugetlb,
net_cls, net_prio) are mounted in the probe's own private mount namespace and
are waited for until the kernel has really destroyed them.
"""

from __future__ import annotations

import ctypes
import errno
import faulthandler
import functools
import json
import mmap
import os
import resource
import select
import signal
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, NoReturn

from .. import cgroupfs
from ..catalogue import probe
from ..context import ProbeContext
from ..process import Child, ChildError, Gate, describe_wait_status, wait_exit
from ..syscalls import CLONE_INTO_CGROUP, CLONE_NEWNS, make_mounts_private, syscall, unshare
from ..verdicts import (
    Verdict,
    disabled,
    errno_name,
    failed,
    introducing,
    passed,
    skipped,
    unsupported,
    verdict_from_oserror,
)

BASE = "task-containers-base"
SPECIFIC = "specific-containers"
MiB = 1 << 20

ProbeFunc = Callable[[ProbeContext], Verdict]


# --- shared helpers ----------------------------------------------------------------------------


def _layout(func: ProbeFunc) -> ProbeFunc:
    """Turn the host-layout errors of ``cgroupfs`` into verdicts."""

    @functools.wraps(func)
    def wrapper(ctx: ProbeContext) -> Verdict:
        try:
            return func(ctx)
        except cgroupfs.NotDelegated as err:
            raise disabled(str(err)) from err
        except cgroupfs.LayoutError as err:
            raise unsupported(str(err)) from err

    return wrapper


def _park() -> NoReturn:
    """A sleeper that never returns into the caller's Python code."""
    try:
        while True:
            time.sleep(3600)
    finally:
        os._exit(0)


def _spin(seconds: float, cpu_time: bool = False) -> dict[str, float]:
    """Burn CPU for ``seconds`` of wall time (or of own CPU time, capped at 10x in wall
    time); returns the caller's CPU time and the wall time."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    if cpu_time:
        while time.process_time() - cpu0 < seconds and time.monotonic() - wall0 < 10 * seconds:
            pass
    else:
        while time.monotonic() - wall0 < seconds:
            pass
    return {"cpu": time.process_time() - cpu0, "wall": time.monotonic() - wall0}


def _touch(buf: mmap.mmap, step: int = 4096) -> None:
    for offset in range(0, len(buf), step):
        buf[offset] = 1


def _outcome(child: Child, timeout: float) -> tuple[Any, int]:
    """The child's return value (None when it died without one) and its wait status.

    Gives up (and the child is killed in the caller's finally) past ``timeout``;
    an OSError or Verdict the child raised is re-raised.
    """
    try:
        value = child.result(timeout)
    except ChildError:
        value = None
    if not wait_exit(child.pid, timeout):
        raise failed(f"workload child {child.pid} did not exit within {timeout} s")
    return value, child.wait()


def _signal_name(status: int) -> str | None:
    return signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else None


def _kernel_at_least(major: int, minor: int) -> bool:
    parts = os.uname().release.split(".")
    try:
        release = (int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0))
    except (IndexError, ValueError):
        return True
    return release >= (major, minor)


def _private_mounts() -> None:
    """A mount namespace of our own (this probe process is disposable) for v1 mounts."""
    unshare(CLONE_NEWNS)
    make_mounts_private()


def _cpulist(text: str) -> list[int]:
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def _no_core_dumps() -> None:
    # Workload children die of SIGBUS on purpose: no core file may land on the host.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@contextmanager
def _v1_hierarchy(ctx: ProbeContext, controller: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The own cgroup dir of a v1 controller: the host's hierarchy when it has one,
    else a throwaway one mounted privately and destroyed again on exit.

    Yields (base directory, evidence dict filled with the teardown facts).
    """
    info = cgroupfs.controller(controller)
    evidence: dict[str, Any] = {}
    if info.hierarchy != 0:
        evidence["hierarchy"] = info.hierarchy
        evidence["mounted_by_probe"] = False
        yield cgroupfs.own_dir(controller), evidence
        return
    _private_mounts()
    target = ctx.scratch("v1")
    ctx.register("mount", target)
    try:
        try:
            evidence["busy_wait_ms"] = round(cgroupfs.mount_v1(target, controller) * 1000, 1)
        except OSError as err:
            if err.errno == errno.EBUSY:
                raise unsupported(
                    f"{controller} stayed in use on cgroup v2 (EBUSY): cannot "
                    "bind it to a v1 hierarchy on this host",
                    errno="EBUSY",
                ) from err
            with introducing(f"a cgroup v1 {controller} hierarchy"):
                raise
        evidence["mounted_by_probe"] = True
        evidence["hierarchy"] = cgroupfs.controller(controller).hierarchy
        try:
            yield target, evidence
        finally:
            evidence.update(cgroupfs.umount_v1(target, controller, controller))
    finally:
        cgroupfs.detach(target)
        with suppress(OSError):
            os.rmdir(target)


# --- task containers base ----------------------------------------------------------------------


@probe(
    "cg.base.v1_named_hierarchy",
    title="named cgroup v1 hierarchy (no controller)",
    item=BASE,
    since="2.6.24",
    config=("CONFIG_CGROUPS",),
    intrusive=True,
    timeout=10.0,
)
def v1_named_hierarchy(ctx: ProbeContext) -> Verdict:
    """Pass: a child written to cgroup.procs shows "N:name=probe<pid>:/<child>" in
    /proc/<pid>/cgroup and is listed in ``tasks``; the hierarchy is gone afterwards."""
    _private_mounts()
    target = ctx.scratch("v1")
    name = f"probe{os.getpid()}"
    options = f"none,name={name}"
    ctx.register("mount", target)
    gate = Gate()
    child: Child | None = None
    teardown: dict[str, Any] = {}
    try:
        with introducing("a named cgroup v1 hierarchy"):
            cgroupfs.mount_v1(target, options, busy_timeout=0)
        try:
            group = cgroupfs.create(ctx, target, "child")
            child = Child(lambda: gate.wait(5.0) and cgroupfs.hierarchy_lines())
            cgroupfs.attach(group, child.pid)
            seen = cgroupfs.hierarchy_lines(child.pid)
            tasks = [int(p) for p in cgroupfs.read(os.path.join(group, "tasks")).split()]
            gate.open()
            own_view = child.result(5.0)
            child.finish()
            cgroupfs.remove(group)
        finally:
            if child is not None:
                child.finish()
            teardown = cgroupfs.umount_v1(target, options, f"name={name}", grace=0.08)
    finally:
        gate.close()
        cgroupfs.detach(target)
        with suppress(OSError):
            os.rmdir(target)
    line = next((ln for ln in seen if f":name={name}:" in ln), "")
    evidence = {
        "line": line,
        "tasks": tasks,
        "child_view": [ln for ln in own_view if name in ln],
        **teardown,
    }
    expected = f"/{os.path.basename(group)}"
    if not line.endswith(f":name={name}:{expected}") or child.pid not in tasks:
        raise failed(
            f"child {child.pid} not shown in the named hierarchy as expected: {line or 'no line'}",
            **evidence,
        )
    if not teardown["hierarchy_gone"]:
        raise failed(
            f"the child was placed ({line}) but the named hierarchy outlived its umount", **evidence
        )
    return passed(
        f"child showed {line!r} and was listed in tasks; the hierarchy was destroyed "
        f"after {teardown['remounts']} remount(s)",
        **evidence,
    )


@probe(
    "cg.base.v2_core",
    title="cgroup2 core: populated events, POLLPRI, core cpu.stat",
    item=BASE,
    since="4.5",
    config=("CONFIG_CGROUPS",),
    timeout=10.0,
)
@_layout
def v2_core(ctx: ProbeContext) -> Verdict:
    """Pass: cgroup.events populated goes 0 -> 1 -> 0 as a child enters and exits,
    poll(POLLPRI) fires on each change, and cpu.stat usage_usec matches the child's CPU."""
    group = cgroupfs.create(ctx, cgroupfs.own_dir(cgroupfs.V2))
    events = os.path.join(group, "cgroup.events")
    attached, go = Gate(), Gate()
    child: Child | None = None
    fd = os.open(events, os.O_RDONLY)
    try:
        populated = [cgroupfs.read_keyed(events)["populated"]]
        os.read(fd, 4096)  # arms kernfs notification for this open file
        poller = select.poll()
        poller.register(fd, select.POLLPRI)

        def populated_after_event() -> tuple[bool, int]:
            fired = bool(poller.poll(2000))
            raw = os.pread(fd, 4096, 0).decode()
            return fired, int(raw.split("populated")[1].split()[0])

        def workload() -> dict[str, float]:
            cgroupfs.attach(group)
            attached.open()
            go.wait(5.0)
            return _spin(0.05)

        child = Child(workload)
        attached.wait(5.0)
        fired_in, value = populated_after_event()
        populated.append(value)
        go.open()
        spun = child.result(5.0)
        wait_exit(child.pid, 5.0)
        fired_out, value = populated_after_event()
        populated.append(value)
        child.finish()
        stat = cgroupfs.read_keyed(os.path.join(group, "cpu.stat"))
        kind = cgroupfs.read(os.path.join(group, "cgroup.type"))
    finally:
        os.close(fd)
        if child is not None:
            child.finish()
        attached.close()
        go.close()
        cgroupfs.remove(group)
    usage = stat.get("usage_usec", 0) / 1e6
    evidence = {
        "populated": populated,
        "pollpri": [fired_in, fired_out],
        "usage_usec": stat.get("usage_usec"),
        "child_cpu_s": round(spun["cpu"], 4),
        "cgroup_type": kind,
        "root_controllers": sorted(cgroupfs.v2_available()),
    }
    if populated != [0, 1, 0] or not (fired_in and fired_out):
        raise failed(
            f"populated went {populated}, POLLPRI fired {[fired_in, fired_out]}", **evidence
        )
    if not 0.7 * spun["cpu"] - 0.005 <= usage <= 1.5 * spun["cpu"] + 0.01:
        raise failed(
            f"cpu.stat usage {usage * 1000:.1f} ms does not match the child's "
            f"{spun['cpu'] * 1000:.1f} ms",
            **evidence,
        )
    return passed(
        f"populated went 0->1->0 with POLLPRI each time and usage_usec "
        f"{stat['usage_usec']} matched the child's {spun['cpu'] * 1e6:.0f} us of CPU",
        **evidence,
    )


@probe(
    "cg.base.v2_kill",
    title="cgroup.kill kills a whole cgroup",
    item=BASE,
    since="5.14",
    config=("CONFIG_CGROUPS",),
    timeout=10.0,
)
@_layout
def v2_kill(ctx: ProbeContext) -> Verdict:
    """Pass: with a leader and its 3 forked sleepers inside (4 procs), writing "1" to
    cgroup.kill SIGKILLs the leader and populated drops to 0 within milliseconds."""
    group = cgroupfs.create(ctx, cgroupfs.own_dir(cgroupfs.V2))
    kill_file = os.path.join(group, "cgroup.kill")
    with introducing("cgroup.kill"):
        os.stat(kill_file)
    ready = Gate()
    child: Child | None = None

    def leader() -> None:
        cgroupfs.attach(group)
        sleepers = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                _park()
            sleepers.append(pid)
        ready.open(json.dumps(sleepers).encode())
        _park()

    try:
        child = Child(leader)
        sleepers = json.loads(ready.wait(5.0))
        before = sorted(cgroupfs.procs(group))
        started = time.monotonic()
        cgroupfs.write(kill_file, "1")
        leader_gone = wait_exit(child.pid, 2.0)
        emptied = cgroupfs.wait_until(
            lambda: cgroupfs.read_keyed(os.path.join(group, "cgroup.events"))["populated"] == 0,
            2.0,
            interval=0.0005,
        )
        elapsed_ms = round((time.monotonic() - started) * 1000, 2)
        status = child.wait(1.0) if leader_gone else None
    finally:
        if child is not None:
            child.finish()
        ready.close()
        cgroupfs.remove(group)
    evidence = {
        "procs_before": before,
        "sleepers": sleepers,
        "emptied_ms": elapsed_ms,
        "leader": describe_wait_status(status) if status is not None else "alive",
    }
    if len(before) != 4:
        raise failed(
            f"expected 4 processes in the cgroup before the kill, saw {len(before)}", **evidence
        )
    if status is None or _signal_name(status) != "SIGKILL" or not emptied:
        raise failed(
            f"after cgroup.kill the leader was {evidence['leader']} and populated "
            f"{'dropped' if emptied else 'did not drop'} to 0",
            **evidence,
        )
    return passed(
        f"cgroup.kill SIGKILLed all 4 processes; populated 0 after {elapsed_ms} ms", **evidence
    )


class _CloneArgs(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "flags",
            "pidfd",
            "child_tid",
            "parent_tid",
            "exit_signal",
            "stack",
            "stack_size",
            "tls",
            "set_tid",
            "set_tid_size",
            "cgroup",
        )
    ]


@probe(
    "cg.base.clone_into_cgroup",
    title="clone3(CLONE_INTO_CGROUP)",
    item=BASE,
    since="5.7",
    config=("CONFIG_CGROUPS",),
    timeout=10.0,
)
@_layout
def clone_into_cgroup(ctx: ProbeContext) -> Verdict:
    """Pass: the child's very first view of /proc/self/cgroup is the target cgroup."""
    base = cgroupfs.own_dir(cgroupfs.V2)
    group = cgroupfs.create(ctx, base)
    expected = (
        "0::" + cgroupfs.membership()[cgroupfs.V2].rstrip("/") + "/" + os.path.basename(group)
    )
    dirfd = os.open(group, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    read_fd, write_fd = os.pipe()
    pid = 0
    try:
        args = _CloneArgs(flags=CLONE_INTO_CGROUP, exit_signal=int(signal.SIGCHLD), cgroup=dirfd)
        try:
            pid = syscall("clone3", ctypes.byref(args), ctypes.sizeof(args))
        except OSError as err:
            if err.errno in (errno.ENOSYS, errno.E2BIG, errno.EINVAL):
                raise unsupported(
                    f"clone3 with CLONE_INTO_CGROUP answered {errno_name(err.errno)}",
                    errno=errno_name(err.errno),
                ) from err
            raise
        if pid == 0:  # pragma: no cover - child of a raw clone3: write and _exit only
            try:
                fd = os.open("/proc/self/cgroup", os.O_RDONLY)
                os.write(write_fd, os.read(fd, 4096))
            finally:
                os._exit(0)
        os.close(write_fd)
        write_fd = -1
        ready, _, _ = select.select([read_fd], [], [], 5.0)
        view = os.read(read_fd, 4096).decode() if ready else ""
        wait_exit(pid, 5.0)
    finally:
        if pid > 0:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for fd in (read_fd, write_fd, dirfd):
            if fd >= 0:
                os.close(fd)
        cgroupfs.remove(group)
    lines = view.splitlines()
    v2_line = next((ln for ln in lines if ln.startswith("0::")), "")
    if v2_line != expected:
        raise failed(
            f"clone3 child first saw {v2_line or 'nothing'!r}, not {expected!r}",
            view=lines,
            expected=expected,
        )
    return passed(
        f"the clone3 child's first /proc/self/cgroup line was {v2_line!r}", view=lines, pid=pid
    )


# --- cpu, cpuacct, cpuset ----------------------------------------------------------------------


def _spinner(
    group: str,
    seconds: float,
    cpu: int | None = None,
    start: Gate | None = None,
    ready: Gate | None = None,
    cpu_time: bool = False,
) -> Callable[[], Any]:
    def run() -> dict[str, float]:
        cgroupfs.attach(group)
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if ready is not None:
            ready.open()
        if start is not None:
            start.wait(5.0)
        return _spin(seconds, cpu_time)

    return run


def _throttle_verdict(spun: dict[str, float], stat: dict[str, int], where: str) -> Verdict:
    fraction = spun["cpu"] / spun["wall"]
    evidence = {
        "cpu_s": round(spun["cpu"], 4),
        "wall_s": round(spun["wall"], 4),
        "fraction": round(fraction, 3),
        "cpu_stat": stat,
    }
    if fraction >= 0.35 or stat.get("nr_throttled", 0) <= 0:
        raise failed(
            f"with a 20 % {where} the spinner got {fraction:.2f} of a CPU and "
            f"nr_throttled {stat.get('nr_throttled')}",
            **evidence,
        )
    return passed(
        f"with a 20 % {where} the spinner got {fraction:.2f} of a CPU, "
        f"nr_throttled {stat['nr_throttled']}",
        **evidence,
    )


@probe(
    "cg.cpu.v1_cfs_quota",
    title="cpu controller v1: CFS bandwidth quota",
    item=SPECIFIC,
    since="3.2",
    config=("CONFIG_CGROUP_SCHED", "CONFIG_FAIR_GROUP_SCHED", "CONFIG_CFS_BANDWIDTH"),
    intrusive=True,
    exclusive=True,
    timeout=10.0,
)
@_layout
def cpu_v1_cfs_quota(ctx: ProbeContext) -> Verdict:
    """Pass: with cfs_quota 4000/20000 us a 0.3 s spinner gets < 0.35 of a CPU and
    cpu.stat nr_throttled > 0."""
    group = cgroupfs.create(ctx, cgroupfs.v1_dir("cpu"))
    child: Child | None = None
    try:
        with introducing("cpu.cfs_quota_us (CFS bandwidth)"):
            cgroupfs.write(os.path.join(group, "cpu.cfs_period_us"), "20000")
            cgroupfs.write(os.path.join(group, "cpu.cfs_quota_us"), "4000")
        child = Child(_spinner(group, 0.3))
        spun = child.result(5.0)
        stat = cgroupfs.read_keyed(os.path.join(group, "cpu.stat"))
    finally:
        if child is not None:
            child.finish()
        cgroupfs.remove(group)
    return _throttle_verdict(spun, stat, "CFS quota")


@probe(
    "cg.cpu.v1_shares",
    title="cpu controller v1: cpu.shares weighting",
    item=SPECIFIC,
    since="2.6.24",
    config=("CONFIG_CGROUP_SCHED", "CONFIG_FAIR_GROUP_SCHED"),
    intrusive=True,
    exclusive=True,
    timeout=10.0,
)
@_layout
def cpu_v1_shares(ctx: ProbeContext) -> Verdict:
    """Pass: two spinners pinned to one CPU in cgroups with cpu.shares 2048 and 512
    get CPU time in a ratio within 2.5-6 (ideal 4)."""
    base = cgroupfs.v1_dir("cpu")
    cpu = min(os.sched_getaffinity(0))
    groups: list[str] = []
    children: list[Child] = []
    gates: list[Gate] = []
    try:
        for weight, suffix in ((2048, "high"), (512, "low")):
            group = cgroupfs.create(ctx, base, suffix)
            groups.append(group)
            cgroupfs.write(os.path.join(group, "cpu.shares"), str(weight))
        start_gates = [Gate(), Gate()]
        ready_gates = [Gate(), Gate()]
        gates = start_gates + ready_gates
        for group, start, ready in zip(groups, start_gates, ready_gates, strict=True):
            children.append(Child(_spinner(group, 0.4, cpu, start, ready)))
        for ready in ready_gates:
            ready.wait(5.0)
        for start in start_gates:
            start.open()
        high, low = (child.result(5.0) for child in children)
    finally:
        for child in children:
            child.finish()
        for gate in gates:
            gate.close()
        for group in groups:
            cgroupfs.remove(group)
    ratio = high["cpu"] / max(low["cpu"], 1e-6)
    evidence = {
        "cpu": cpu,
        "high_cpu_s": round(high["cpu"], 4),
        "low_cpu_s": round(low["cpu"], 4),
        "ratio": round(ratio, 2),
    }
    if not 2.5 <= ratio <= 6:
        raise failed(f"shares 2048:512 gave a CPU time ratio of {ratio:.2f}", **evidence)
    return passed(f"shares 2048:512 on one CPU gave a CPU time ratio of {ratio:.2f}", **evidence)


@probe(
    "cg.cpu.v2_max_weight",
    title="cpu controller v2: cpu.max",
    item=SPECIFIC,
    since="4.15",
    config=("CONFIG_CGROUP_SCHED", "CONFIG_FAIR_GROUP_SCHED", "CONFIG_CFS_BANDWIDTH"),
    intrusive=True,
    exclusive=True,
    timeout=10.0,
)
@_layout
def cpu_v2_max(ctx: ProbeContext) -> Verdict:
    """Pass: with cpu.max "4000 20000" a 0.3 s spinner gets < 0.35 of a CPU and
    cpu.stat nr_throttled > 0."""
    cgroupfs.require_v2_controller("cpu")
    child: Child | None = None
    with cgroupfs.v2_subtree(ctx, "cpu") as (_, leaf):
        try:
            cgroupfs.write(os.path.join(leaf, "cpu.max"), "4000 20000")
            child = Child(_spinner(leaf, 0.3))
            spun = child.result(5.0)
            stat = cgroupfs.read_keyed(os.path.join(leaf, "cpu.stat"))
        finally:
            if child is not None:
                child.finish()
    return _throttle_verdict(spun, stat, "cpu.max")


@probe(
    "cg.cpuacct.v1_usage",
    title="cpuacct controller v1: usage accounting",
    item=SPECIFIC,
    since="2.6.24",
    config=("CONFIG_CGROUP_CPUACCT",),
    # Not exclusive: it compares the cgroup's accounting with the child's own CPU
    # time, which a neighbour does not change.
    timeout=10.0,
)
@_layout
def cpuacct_v1_usage(ctx: ProbeContext) -> Verdict:
    """Pass: cpuacct.usage is within 30 % of the CPU time the child measured itself."""
    group = cgroupfs.create(ctx, cgroupfs.v1_dir("cpuacct"))
    child: Child | None = None
    try:
        child = Child(_spinner(group, 0.2))
        spun = child.result(5.0)
        wait_exit(child.pid, 5.0)
        usage_ns = int(cgroupfs.read(os.path.join(group, "cpuacct.usage")))
        percpu = [
            int(v) for v in cgroupfs.read(os.path.join(group, "cpuacct.usage_percpu")).split()
        ]
    finally:
        if child is not None:
            child.finish()
        cgroupfs.remove(group)
    usage = usage_ns / 1e9
    evidence = {"usage_ns": usage_ns, "usage_percpu": percpu, "child_cpu_s": round(spun["cpu"], 4)}
    if abs(usage - spun["cpu"]) > 0.3 * spun["cpu"]:
        raise failed(
            f"cpuacct.usage {usage:.3f} s vs the child's {spun['cpu']:.3f} s of CPU", **evidence
        )
    return passed(
        f"cpuacct.usage {usage:.3f} s matched the child's {spun['cpu']:.3f} s of CPU", **evidence
    )


def _affinity_child(group: str, outside: int) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        cgroupfs.attach(group)
        affinity = sorted(os.sched_getaffinity(0))
        try:
            os.sched_setaffinity(0, {outside})
            escape = "allowed"
        except OSError as err:
            escape = errno_name(err.errno)
        return {"affinity": affinity, "escape": escape}

    return run


def _pin_verdict(seen: dict[str, Any], target: int, outside: int, evidence: dict) -> Verdict:
    evidence.update(seen)
    if seen["affinity"] != [target] or seen["escape"] != "EINVAL":
        raise failed(
            f"child affinity {seen['affinity']} (wanted [{target}]); setaffinity to "
            f"CPU {outside} gave {seen['escape']}",
            **evidence,
        )
    return passed(
        f"child was confined to CPU {target} and setaffinity to CPU {outside} failed with EINVAL",
        **evidence,
    )


@probe(
    "cg.cpuset.v1_pin",
    title="cpuset controller v1: CPU pinning",
    item=SPECIFIC,
    since="2.6.24",
    config=("CONFIG_CPUSETS", "CONFIG_CPUSETS_V1"),
    timeout=10.0,
)
@_layout
def cpuset_v1_pin(ctx: ProbeContext) -> Verdict:
    """Pass: a child in a cpuset with one CPU has exactly that affinity and
    sched_setaffinity to a CPU outside the set fails with EINVAL."""
    base = cgroupfs.v1_dir("cpuset")
    allowed = _cpulist(cgroupfs.read(os.path.join(base, "cpuset.effective_cpus")))
    if len(allowed) < 2:
        raise unsupported(f"only CPU(s) {allowed} available: pinning cannot be shown")
    target, outside = allowed[-1], allowed[0]
    group = cgroupfs.create(ctx, base)
    child: Child | None = None
    try:
        # Both must be set before a task can attach (ENOSPC otherwise).
        cgroupfs.write(os.path.join(group, "cpuset.cpus"), str(target))
        mems = cgroupfs.read(os.path.join(base, "cpuset.effective_mems"))
        cgroupfs.write(os.path.join(group, "cpuset.mems"), mems)
        child = Child(_affinity_child(group, outside))
        seen = child.result(5.0)
    finally:
        if child is not None:
            child.finish()
        cgroupfs.remove(group)
    return _pin_verdict(seen, target, outside, {"allowed": allowed, "mems": mems})


@probe(
    "cg.cpuset.v2_pin",
    title="cpuset controller v2: CPU pinning",
    item=SPECIFIC,
    since="5.0",
    config=("CONFIG_CPUSETS",),
    timeout=10.0,
)
@_layout
def cpuset_v2_pin(ctx: ProbeContext) -> Verdict:
    """Pass: a child in a cpuset.cpus=<one CPU> leaf has exactly that affinity,
    cpuset.cpus.effective agrees, and setaffinity outside fails with EINVAL."""
    cgroupfs.require_v2_controller("cpuset")
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        raise unsupported(f"only CPU(s) {allowed} available: pinning cannot be shown")
    target, outside = allowed[-1], allowed[0]
    child: Child | None = None
    with cgroupfs.v2_subtree(ctx, "cpuset") as (_, leaf):
        try:
            cgroupfs.write(os.path.join(leaf, "cpuset.cpus"), str(target))
            effective = cgroupfs.read(os.path.join(leaf, "cpuset.cpus.effective"))
            child = Child(_affinity_child(leaf, outside))
            seen = child.result(5.0)
        finally:
            if child is not None:
                child.finish()
    if _cpulist(effective) != [target]:
        raise failed(f"cpuset.cpus.effective is {effective!r}, not {target}", effective=effective)
    return _pin_verdict(seen, target, outside, {"effective": effective})


# --- memory, pids, freezer, devices ------------------------------------------------------------


def _allocator(
    group: str, size: int, ready: Gate | None = None, go: Gate | None = None
) -> Callable[[], int]:
    def run() -> int:
        cgroupfs.attach(group)
        buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)  # anonymous, charged as rss
        _touch(buf)
        if ready is not None and go is not None:
            ready.open()
            go.wait(5.0)
        return size

    return run


def _oom_child(group: str, timeout: float = 10.0) -> tuple[str, str | None]:
    """Run a 64 MiB allocator in ``group``; (how it ended, signal name)."""
    child = Child(_allocator(group, 64 * MiB))
    try:
        _, status = _outcome(child, timeout)
    finally:
        child.finish()
    return describe_wait_status(status), _signal_name(status)


@probe(
    "cg.memory.v1_limit_oom",
    title="memory controller v1: limit and OOM kill",
    item=SPECIFIC,
    since="2.6.25",
    config=("CONFIG_MEMCG", "CONFIG_MEMCG_V1"),
    intrusive=True,
    timeout=30.0,
)
@_layout
def memory_v1_limit_oom(ctx: ProbeContext) -> Verdict:
    """Pass: a 16 MiB child is charged >= 16 MiB, a 64 MiB child is SIGKILLed inside
    the 32 MiB cgroup, oom_control oom_kill >= 1 and max_usage reaches the limit."""
    limit = 32 * MiB
    group = cgroupfs.create(ctx, cgroupfs.v1_dir("memory"))
    ready, go = Gate(), Gate()
    child: Child | None = None
    try:
        # The limits are written before anything is attached: the OOM stays inside.
        cgroupfs.write(os.path.join(group, "memory.limit_in_bytes"), str(limit))
        memsw = os.path.exists(os.path.join(group, "memory.memsw.limit_in_bytes"))
        if memsw:  # with swap accounting the child cannot escape into swap either
            cgroupfs.write(os.path.join(group, "memory.memsw.limit_in_bytes"), str(limit))
        child = Child(_allocator(group, 16 * MiB, ready, go))
        ready.wait(10.0)
        usage = int(cgroupfs.read(os.path.join(group, "memory.usage_in_bytes")))
        rss = cgroupfs.read_keyed(os.path.join(group, "memory.stat")).get("rss")
        go.open()
        child.result(5.0)
        child.finish()
        how, sig = _oom_child(group)
        oom = cgroupfs.read_keyed(os.path.join(group, "memory.oom_control"))
        max_usage = int(cgroupfs.read(os.path.join(group, "memory.max_usage_in_bytes")))
    finally:
        if child is not None:
            child.finish()
        ready.close()
        go.close()
        cgroupfs.remove(group)
    evidence = {
        "usage_16m": usage,
        "rss": rss,
        "oom_child": how,
        "oom_control": oom,
        "max_usage": max_usage,
        "limit": limit,
        "memsw": memsw,
    }
    if usage < 16 * MiB:
        raise failed(f"a child touching 16 MiB was charged only {usage} bytes", **evidence)
    if sig != "SIGKILL" or oom.get("oom_kill", 0) < 1 or not limit - MiB <= max_usage <= limit:
        raise failed(
            f"the 64 MiB child was {how}, oom_kill {oom.get('oom_kill')}, max_usage {max_usage}",
            **evidence,
        )
    return passed(
        f"16 MiB child charged {usage} bytes; 64 MiB child SIGKILLed, oom_kill "
        f"{oom['oom_kill']}, max_usage {max_usage}",
        **evidence,
    )


@probe(
    "cg.memory.v2_max_oom",
    title="memory controller v2: memory.max and OOM kill",
    item=SPECIFIC,
    since="4.5",
    config=("CONFIG_MEMCG",),
    intrusive=True,  # an OOM kill, like cg.memory.v1_limit_oom
    timeout=30.0,
)
@_layout
def memory_v2_max_oom(ctx: ProbeContext) -> Verdict:
    """Pass: a 64 MiB child in a memory.max=32M (swap.max=0) leaf is SIGKILLed and
    memory.events oom_kill >= 1."""
    cgroupfs.require_v2_controller("memory")
    with cgroupfs.v2_subtree(ctx, "memory") as (_, leaf):
        cgroupfs.write(os.path.join(leaf, "memory.max"), str(32 * MiB))
        swap_max = os.path.join(leaf, "memory.swap.max")
        if os.path.exists(swap_max):
            cgroupfs.write(swap_max, "0")
        how, sig = _oom_child(leaf)
        events = cgroupfs.read_keyed(os.path.join(leaf, "memory.events"))
    evidence = {"oom_child": how, "events": events}
    if sig != "SIGKILL" or events.get("oom_kill", 0) < 1:
        raise failed(f"the 64 MiB child was {how}, oom_kill {events.get('oom_kill')}", **evidence)
    return passed(
        f"64 MiB child SIGKILLed in a 32 MiB leaf, oom_kill {events['oom_kill']}", **evidence
    )


def _forker(group: str) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        cgroupfs.attach(group)
        sleepers: list[int] = []
        refused = None
        try:
            for _ in range(16):
                try:
                    pid = os.fork()
                except OSError as err:
                    refused = errno_name(err.errno)
                    break
                if pid == 0:
                    _park()
                sleepers.append(pid)
            current = cgroupfs.read(os.path.join(group, "pids.current"))
        finally:
            # Reap our own sleepers so no zombie is left for the runner.
            for pid in sleepers:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                with suppress(ChildProcessError):
                    os.waitpid(pid, 0)
        return {"forks": len(sleepers), "refused": refused, "current": int(current)}

    return run


def _pids_verdict(group: str) -> Verdict:
    child = Child(_forker(group))
    try:
        seen = child.result(5.0)
    finally:
        child.finish()
    events_file = os.path.join(group, "pids.events")
    events = cgroupfs.read_keyed(events_file) if os.path.exists(events_file) else None
    evidence = {**seen, "events": events}
    if seen["forks"] != 3 or seen["refused"] != "EAGAIN":
        raise failed(
            f"with pids.max 4 the child forked {seen['forks']} times, then {seen['refused']}",
            **evidence,
        )
    if events is not None and events.get("max", 0) < 1:
        raise failed(f"fork was refused but pids.events says {events}", **evidence)
    return passed(
        f"with pids.max 4 exactly 3 forks succeeded and the 4th failed with EAGAIN; "
        f"pids.events max {events.get('max') if events else 'n/a'}",
        **evidence,
    )


@probe(
    "cg.pids.v1_max",
    title="pids controller v1: pids.max",
    item=SPECIFIC,
    since="4.3",
    config=("CONFIG_CGROUP_PIDS",),
    timeout=10.0,
)
@_layout
def pids_v1_max(ctx: ProbeContext) -> Verdict:
    """Pass: with pids.max 4 the attached child forks exactly 3 times, the 4th fork
    fails with EAGAIN, and pids.events counts max >= 1."""
    group = cgroupfs.create(ctx, cgroupfs.v1_dir("pids"))
    try:
        cgroupfs.write(os.path.join(group, "pids.max"), "4")
        return _pids_verdict(group)
    finally:
        cgroupfs.remove(group)


@probe(
    "cg.pids.v2_max",
    title="pids controller v2: pids.max",
    item=SPECIFIC,
    since="4.5",
    config=("CONFIG_CGROUP_PIDS",),
    timeout=10.0,
)
@_layout
def pids_v2_max(ctx: ProbeContext) -> Verdict:
    """Pass: as cg.pids.v1_max, in a cgroup2 leaf with "+pids"."""
    cgroupfs.require_v2_controller("pids")
    with cgroupfs.v2_subtree(ctx, "pids") as (_, leaf):
        cgroupfs.write(os.path.join(leaf, "pids.max"), "4")
        return _pids_verdict(leaf)


@probe(
    "cg.freezer.v1",
    title="freezer controller v1: freeze and thaw",
    item=SPECIFIC,
    since="2.6.28",
    config=("CONFIG_CGROUP_FREEZER",),
    timeout=10.0,
)
@_layout
def freezer_v1(ctx: ProbeContext) -> Verdict:
    """Pass: after FROZEN a counting child's counter stays still for 100 ms, and after
    THAWED it advances again."""
    group = cgroupfs.create(ctx, cgroupfs.v1_dir("freezer"))
    state_file = os.path.join(group, "freezer.state")
    shared = mmap.mmap(-1, 8, flags=mmap.MAP_SHARED)
    # One aligned 8-byte store per update: struct.pack_into zero-fills before writing,
    # so a reader could see a torn 0.
    counter = memoryview(shared).cast("Q")

    def count() -> int:
        return counter[0]

    def counting() -> None:
        cgroupfs.attach(group)
        while True:
            counter[0] += 1

    child: Child | None = None
    try:
        child = Child(counting)
        if not cgroupfs.wait_until(lambda: count() > 0, 5.0):
            raise failed("the counting child never started counting")
        started = time.monotonic()
        cgroupfs.write(state_file, "FROZEN")
        frozen = cgroupfs.wait_until(
            lambda: cgroupfs.read(state_file) == "FROZEN", 3.0, interval=0.0002
        )
        froze_ms = round((time.monotonic() - started) * 1000, 2)
        with open(f"/proc/{child.pid}/status") as f:
            proc_state = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("State:"))
        still = count()
        time.sleep(0.1)
        after = count()
        cgroupfs.write(state_file, "THAWED")
        resumed = cgroupfs.wait_until(lambda: count() > after, 3.0)
    finally:
        with suppress(OSError):
            cgroupfs.write(state_file, "THAWED")
        if child is not None:
            child.finish()
        cgroupfs.remove(group)
        counter.release()
        shared.close()
    evidence = {
        "froze_ms": froze_ms,
        "proc_state": proc_state,
        "count_frozen": [still, after],
        "resumed": resumed,
    }
    if not frozen or still != after or not resumed:
        raise failed(
            f"freezer.state FROZEN reached: {frozen}; counter {still}->{after} while "
            f"frozen; resumed after THAWED: {resumed}",
            **evidence,
        )
    return passed(
        f"froze in {froze_ms} ms (task state {proc_state}), the counter stayed at "
        f"{after} for 100 ms and advanced after THAWED",
        **evidence,
    )


def _open_devices() -> dict[str, str]:
    seen = {}
    for path in ("/dev/null", "/dev/zero"):
        try:
            os.close(os.open(path, os.O_RDONLY))
            seen[path] = "ok"
        except OSError as err:
            seen[path] = errno_name(err.errno)
    return seen


def _device_verdict(seen: dict[str, str], how: str, evidence: dict[str, Any]) -> Verdict:
    evidence.update(opens=seen)
    if seen["/dev/null"] != "EPERM" or seen["/dev/zero"] != "ok":
        raise failed(
            f"with {how} the child's opens gave /dev/null {seen['/dev/null']}, "
            f"/dev/zero {seen['/dev/zero']}",
            **evidence,
        )
    return passed(f"with {how} the child got EPERM for /dev/null and opened /dev/zero", **evidence)


@probe(
    "cg.devices.v1_deny",
    title="devices controller v1: deny a device",
    item=SPECIFIC,
    since="2.6.26",
    config=("CONFIG_CGROUP_DEVICE",),
    timeout=10.0,
)
@_layout
def devices_v1_deny(ctx: ProbeContext) -> Verdict:
    """Pass: after devices.deny "c 1:3 rwm" the child's open of /dev/null fails with
    EPERM while /dev/zero still opens."""
    group = cgroupfs.create(ctx, cgroupfs.v1_dir("devices"))
    child: Child | None = None
    try:
        cgroupfs.write(os.path.join(group, "devices.deny"), "c 1:3 rwm")
        child = Child(lambda: cgroupfs.attach(group) or _open_devices())
        seen = child.result(5.0)
        listed = cgroupfs.read(os.path.join(group, "devices.list"))
    finally:
        if child is not None:
            child.finish()
        cgroupfs.remove(group)
    return _device_verdict(seen, 'devices.deny "c 1:3 rwm"', {"devices_list": listed})


BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6


def _bpf_insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


# struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }: deny 1:3, allow the rest.
_DENY_NULL = b"".join(
    (
        _bpf_insn(0x61, dst=2, src=1, off=4),  # r2 = ctx->major
        _bpf_insn(0x61, dst=3, src=1, off=8),  # r3 = ctx->minor
        _bpf_insn(0x55, dst=2, off=3, imm=1),  # if r2 != 1 goto allow
        _bpf_insn(0x55, dst=3, off=2, imm=3),  # if r3 != 3 goto allow
        _bpf_insn(0xB7, dst=0, imm=0),  # r0 = 0 (deny)
        _bpf_insn(0x95),  # exit
        _bpf_insn(0xB7, dst=0, imm=1),  # allow: r0 = 1
        _bpf_insn(0x95),  # exit
    )
)


def _bpf(cmd: int, attr: bytes) -> int:
    buf = ctypes.create_string_buffer(attr, len(attr))
    return syscall("bpf", cmd, buf, len(attr))


@probe(
    "cg.devices.v2_bpf",
    title="devices controller v2: BPF_CGROUP_DEVICE program",
    item=SPECIFIC,
    since="4.15",
    config=("CONFIG_CGROUP_BPF", "CONFIG_BPF_SYSCALL"),
    timeout=10.0,
)
@_layout
def devices_v2_bpf(ctx: ProbeContext) -> Verdict:
    """Pass: with a device program denying 1:3 attached to the cgroup, the child's open
    of /dev/null fails with EPERM while /dev/zero still opens."""
    group = cgroupfs.create(ctx, cgroupfs.own_dir(cgroupfs.V2))
    insns = ctypes.create_string_buffer(_DENY_NULL, len(_DENY_NULL))
    license_ = ctypes.create_string_buffer(b"GPL")
    dirfd = os.open(group, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    prog = -1
    child: Child | None = None
    try:
        load = struct.pack(
            "<IIQQIIQII16sII",
            BPF_PROG_TYPE_CGROUP_DEVICE,
            len(_DENY_NULL) // 8,
            ctypes.addressof(insns),
            ctypes.addressof(license_),
            0,
            0,
            0,
            0,
            0,
            b"probe_devcg",
            0,
            0,
        ).ljust(128, b"\0")
        with introducing("BPF_PROG_TYPE_CGROUP_DEVICE"):
            prog = _bpf(BPF_PROG_LOAD, load)
        attach = struct.pack("<IIIII", dirfd, prog, BPF_CGROUP_DEVICE, 0, 0).ljust(32, b"\0")
        with introducing("BPF_CGROUP_DEVICE attach"):
            _bpf(BPF_PROG_ATTACH, attach)
        child = Child(lambda: cgroupfs.attach(group) or _open_devices())
        seen = child.result(5.0)
    finally:
        if child is not None:
            child.finish()
        if prog >= 0:
            os.close(prog)
        os.close(dirfd)
        cgroupfs.remove(group)  # detaches the program
    return _device_verdict(seen, "a BPF device program denying 1:3", {"insns": 8})


# --- block I/O ---------------------------------------------------------------------------------

THROTTLE_BPS = 4 * MiB


def _whole_disk(path: str) -> str | None:
    """MAJ:MIN of the whole disk holding ``path`` (a partition's parent), if any."""
    dev = os.stat(path).st_dev
    node = f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}"
    if not os.path.exists(node):
        return None
    if os.path.exists(os.path.join(node, "partition")):
        return cgroupfs.read(os.path.join(os.path.realpath(node), "..", "dev"))
    return cgroupfs.read(os.path.join(node, "dev"))


def _direct_read(path: str, offset: int, size: int) -> float:
    """Read ``size`` bytes with O_DIRECT (page-aligned buffer); elapsed seconds."""
    buf = mmap.mmap(-1, MiB)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        started = time.monotonic()
        done = 0
        while done < size:
            got = os.preadv(fd, [buf], offset + done)
            if got <= 0:
                raise OSError(errno.EIO, "short O_DIRECT read")
            done += got
        return time.monotonic() - started
    finally:
        os.close(fd)
        buf.close()


@contextmanager
def _io_workload(ctx: ProbeContext) -> Iterator[tuple[str, str]]:
    """A 10 MiB file written under /tmp and the whole-disk MAJ:MIN behind it."""
    scratch = ctx.scratch()
    disk = _whole_disk(scratch)
    if disk is None:
        os.rmdir(scratch)
        raise skipped(f"no block device backs {scratch}: nothing to throttle")
    data = os.path.join(scratch, "data")
    fd = os.open(data, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        chunk = os.urandom(MiB)
        for _ in range(10):
            os.write(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        try:
            os.close(os.open(data, os.O_RDONLY | os.O_DIRECT))
        except OSError as err:
            raise skipped(
                f"the filesystem under {scratch} refuses O_DIRECT ({errno_name(err.errno)})"
            ) from err
        yield data, disk
    finally:
        os.unlink(data)
        os.rmdir(scratch)


def _throttled_read(group: str, data: str) -> dict[str, float]:
    child = Child(lambda: cgroupfs.attach(group) or _direct_read(data, 4 * MiB, 6 * MiB))
    try:
        elapsed = child.result(20.0)
    finally:
        child.finish()
    return {"bytes": 6 * MiB, "elapsed": elapsed}


def _throughput_verdict(
    read: dict[str, float], baseline: float, accounted: str, evidence: dict[str, Any]
) -> Verdict:
    rate = read["bytes"] / read["elapsed"]
    evidence.update(
        elapsed_s=round(read["elapsed"], 3),
        mib_per_s=round(rate / MiB, 2),
        baseline_4mib_s=round(baseline, 4),
        accounted=accounted,
    )
    if rate > 1.3 * THROTTLE_BPS or read["elapsed"] <= 0.9:
        raise failed(
            f"throttled to 4 MiB/s the child read 6 MiB at {rate / MiB:.2f} MiB/s in "
            f"{read['elapsed']:.2f} s",
            **evidence,
        )
    return passed(
        f"throttled to 4 MiB/s the child read 6 MiB at {rate / MiB:.2f} MiB/s "
        f"(unthrottled: 4 MiB in {baseline * 1000:.0f} ms)",
        **evidence,
    )


@probe(
    "cg.blkio.v1_throttle",
    title="blkio controller v1: read bandwidth throttling",
    item=SPECIFIC,
    since="2.6.37",
    config=("CONFIG_BLK_CGROUP", "CONFIG_BLK_DEV_THROTTLING"),
    intrusive=True,
    exclusive=True,
    timeout=20.0,
)
@_layout
def blkio_v1_throttle(ctx: ProbeContext) -> Verdict:
    """Pass: with read_bps_device 4 MiB/s an O_DIRECT read of 6 MiB runs at
    <= 1.3 x 4 MiB/s and takes > 0.9 s."""
    base = cgroupfs.v1_dir("blkio")
    with _io_workload(ctx) as (data, disk):
        baseline = _direct_read(data, 0, 4 * MiB)
        group = cgroupfs.create(ctx, base)
        try:
            with introducing("blkio.throttle.read_bps_device"):
                cgroupfs.write(
                    os.path.join(group, "blkio.throttle.read_bps_device"), f"{disk} {THROTTLE_BPS}"
                )
            read = _throttled_read(group, data)
            service = cgroupfs.read(os.path.join(group, "blkio.throttle.io_service_bytes"))
        finally:
            cgroupfs.remove(group)
    accounted = next((ln for ln in service.splitlines() if ln.startswith(f"{disk} Read")), "")
    return _throughput_verdict(read, baseline, accounted, {"device": disk})


@probe(
    "cg.io.v2_max",
    title="io controller v2: io.max read bandwidth",
    item=SPECIFIC,
    since="4.5",
    config=("CONFIG_BLK_CGROUP", "CONFIG_BLK_DEV_THROTTLING"),
    intrusive=True,  # disk load, like cg.blkio.v1_throttle
    exclusive=True,
    timeout=20.0,
)
@_layout
def io_v2_max(ctx: ProbeContext) -> Verdict:
    """Pass: with io.max rbps=4 MiB/s an O_DIRECT read of 6 MiB runs at <= 1.3 x
    4 MiB/s and takes > 0.9 s."""
    cgroupfs.require_v2_controller("io")
    with _io_workload(ctx) as (data, disk):
        baseline = _direct_read(data, 0, 4 * MiB)
        with cgroupfs.v2_subtree(ctx, "io") as (_, leaf):
            with introducing("io.max"):
                cgroupfs.write(os.path.join(leaf, "io.max"), f"{disk} rbps={THROTTLE_BPS}")
            read = _throttled_read(leaf, data)
            stat = cgroupfs.read(os.path.join(leaf, "io.stat"))
    accounted = next((ln for ln in stat.splitlines() if ln.startswith(disk)), "")
    return _throughput_verdict(read, baseline, accounted, {"device": disk})


# --- hugetlb -----------------------------------------------------------------------------------

MAP_HUGETLB = 0x40000
NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"


def _meminfo() -> dict[str, int]:
    values = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0])
    return values


@contextmanager
def _huge_pages(need: int = 4) -> Iterator[tuple[int, str]]:
    """``need`` free default-size huge pages for the probe; vm.nr_hugepages restored.

    Yields (page size in bytes, the size as cgroup file names spell it: "2MB").
    The lock keeps the two hugetlb probes from restoring each other's baseline.
    """
    if not os.path.exists(NR_HUGEPAGES):
        raise unsupported("no vm.nr_hugepages: the kernel has no huge page support")
    with cgroupfs.locked(NR_HUGEPAGES, 15.0):
        saved = int(cgroupfs.read(NR_HUGEPAGES))
        try:
            info = _meminfo()
            if info.get("HugePages_Free", 0) < need:
                cgroupfs.write(NR_HUGEPAGES, str(saved + need - info.get("HugePages_Free", 0)))
            if _meminfo().get("HugePages_Free", 0) < need:
                raise unsupported(
                    f"vm.nr_hugepages could not be raised to give {need} free huge pages"
                )
            size_kb = info["Hugepagesize"]
            name = f"{size_kb // 1024}MB" if size_kb < 1024 * 1024 else f"{size_kb >> 20}GB"
            yield size_kb * 1024, name
        finally:
            cgroupfs.write(NR_HUGEPAGES, str(saved))


def _huge_fault(group: str, page: int) -> dict[str, Any]:
    """A child maps 2 huge pages and touches both; how far it got and how it ended."""
    touched = Gate()

    def run() -> str:
        # The SIGBUS below is expected: no faulthandler traceback on the runner's stderr.
        faulthandler.disable()
        cgroupfs.attach(group)
        buf = mmap.mmap(-1, 2 * page, flags=mmap.MAP_PRIVATE | MAP_HUGETLB)
        buf[0] = 1
        touched.open(b"0")
        buf[page] = 1  # over the limit: the fault cannot be charged -> SIGBUS
        return "both pages touched"

    child = Child(run)
    try:
        value, status = _outcome(child, 5.0)
        try:
            first = touched.wait(0) == b"0"
        except TimeoutError:
            first = False
    finally:
        child.finish()
        touched.close()
    return {"first_page": first, "second_page": _signal_name(status) or value}


def _huge_reserve(group: str, page: int) -> str:
    """A child maps 2 huge pages; the mmap outcome (ENOMEM when the reservation is refused)."""

    def run() -> str:
        cgroupfs.attach(group)
        try:
            mmap.mmap(-1, 2 * page, flags=mmap.MAP_PRIVATE | MAP_HUGETLB).close()
        except OSError as err:
            return errno_name(err.errno)
        return "mapped"

    child = Child(run)
    try:
        return child.result(5.0)
    finally:
        child.finish()


def _hugetlb_verdict(
    fault: dict[str, Any], reserve: str | None, counted: str, evidence: dict[str, Any]
) -> Verdict:
    evidence.update(fault, rsvd_mmap=reserve)
    if not fault["first_page"] or fault["second_page"] != "SIGBUS":
        raise failed(
            f"with a 1-page limit the first page was "
            f"{'touched' if fault['first_page'] else 'not touched'} and the second "
            f"gave {fault['second_page']}",
            **evidence,
        )
    if reserve not in (None, "ENOMEM"):
        raise failed(f"with a 1-page reservation limit a 2-page mmap gave {reserve}", **evidence)
    rsvd = "rsvd mmap ENOMEM" if reserve else "no rsvd files"
    return passed(f"first huge page ok, second SIGBUS, {rsvd}, {counted}", **evidence)


@probe(
    "cg.hugetlb.v2",
    title="hugetlb controller v2: fault and reservation limits",
    item=SPECIFIC,
    since="5.6",
    config=("CONFIG_CGROUP_HUGETLB", "CONFIG_HUGETLB_PAGE"),
    intrusive=True,
    timeout=20.0,
)
@_layout
def hugetlb_v2(ctx: ProbeContext) -> Verdict:
    """Pass: with hugetlb.<size>.max of one page the child's second page faults with
    SIGBUS; with rsvd.max of one page a two-page mmap fails with ENOMEM; events "max" >= 1."""
    cgroupfs.require_v2_controller("hugetlb")
    _no_core_dumps()
    with _huge_pages() as (page, size), cgroupfs.v2_subtree(ctx, "hugetlb") as (_, leaf):
        cgroupfs.write(os.path.join(leaf, f"hugetlb.{size}.max"), str(page))
        fault = _huge_fault(leaf, page)
        reserve = None
        rsvd_max = os.path.join(leaf, f"hugetlb.{size}.rsvd.max")
        if os.path.exists(rsvd_max):
            cgroupfs.write(os.path.join(leaf, f"hugetlb.{size}.max"), "max")
            cgroupfs.write(rsvd_max, str(page))
            reserve = _huge_reserve(leaf, page)
        events = cgroupfs.read_keyed(os.path.join(leaf, f"hugetlb.{size}.events"))
    evidence = {"page_size": page, "events": events}
    if events.get("max", 0) < 1:
        raise failed(f"hugetlb.{size}.events counted {events}", **evidence, **fault)
    return _hugetlb_verdict(fault, reserve, f"events max {events['max']}", evidence)


@probe(
    "cg.hugetlb.v1",
    title="hugetlb controller v1: fault and reservation limits",
    item=SPECIFIC,
    since="3.5",
    config=("CONFIG_CGROUP_HUGETLB", "CONFIG_HUGETLB_PAGE"),
    intrusive=True,
    timeout=20.0,
)
@_layout
def hugetlb_v1(ctx: ProbeContext) -> Verdict:
    """Pass: with hugetlb.<size>.limit_in_bytes of one page the second page faults
    with SIGBUS and failcnt >= 1; a rsvd limit of one page refuses a two-page mmap."""
    _no_core_dumps()
    cgroupfs.controller("hugetlb")
    with _huge_pages() as (page, size), _v1_hierarchy(ctx, "hugetlb") as (base, teardown):
        group = cgroupfs.create(ctx, base)
        try:
            cgroupfs.write(os.path.join(group, f"hugetlb.{size}.limit_in_bytes"), str(page))
            fault = _huge_fault(group, page)
            failcnt = int(cgroupfs.read(os.path.join(group, f"hugetlb.{size}.failcnt")))
            reserve = None
            rsvd_limit = os.path.join(group, f"hugetlb.{size}.rsvd.limit_in_bytes")
            if os.path.exists(rsvd_limit):
                cgroupfs.write(os.path.join(group, f"hugetlb.{size}.limit_in_bytes"), "-1")
                cgroupfs.write(rsvd_limit, str(page))
                reserve = _huge_reserve(group, page)
        finally:
            cgroupfs.remove(group)
    evidence = {"page_size": page, "failcnt": failcnt, **teardown}
    if failcnt < 1:
        raise failed(f"the second page was refused but failcnt is {failcnt}", **evidence, **fault)
    if teardown.get("hierarchy_gone") is False:
        raise failed(
            "the limit worked but the probe's hugetlb v1 hierarchy outlived its umount",
            **evidence,
            **fault,
        )
    return _hugetlb_verdict(fault, reserve, f"failcnt {failcnt}", evidence)


# --- net_cls, net_prio -------------------------------------------------------------------------


def _net_v1_guard() -> None:
    # Before 5.15 (commit 8520e224f547) activating net_cls/net_prio on v1 switches off
    # cgroup2 socket matching until reboot: a permanent side effect we never cause.
    if not _kernel_at_least(5, 15):
        raise skipped(
            f"kernel {os.uname().release} < 5.15: binding net_cls/net_prio to v1 "
            "would permanently disable cgroup2 socket matching"
        )


@probe(
    "cg.net_cls.v1",
    title="net_cls controller v1: classid",
    item=SPECIFIC,
    since="2.6.29",
    config=("CONFIG_CGROUP_NET_CLASSID",),
    intrusive=True,
    timeout=15.0,
)
@_layout
def net_cls_v1(ctx: ProbeContext) -> Verdict:
    """Pass (interface level): net_cls.classid reads back 0x100001 and an attached child
    is a member; the datapath (tc cls_cgroup, iptables -m cgroup) is not verified."""
    _net_v1_guard()
    cgroupfs.controller("net_cls")
    with _v1_hierarchy(ctx, "net_cls") as (base, teardown):
        group = cgroupfs.create(ctx, base)
        child: Child | None = None
        try:
            cgroupfs.write(os.path.join(group, "net_cls.classid"), str(0x100001))
            classid = int(cgroupfs.read(os.path.join(group, "net_cls.classid")))
            child = Child(lambda: cgroupfs.attach(group) or cgroupfs.hierarchy_lines())
            lines = child.result(5.0)
        finally:
            if child is not None:
                child.finish()
            cgroupfs.remove(group)
    line = next((ln for ln in lines if ":net_cls" in ln), "")
    evidence = {"classid": classid, "line": line, "datapath_verified": False, **teardown}
    if classid != 0x100001 or not line.endswith("/" + os.path.basename(group)):
        raise failed(f"classid read back {classid}, child membership {line!r}", **evidence)
    if teardown.get("hierarchy_gone") is False:
        raise failed(
            "classid worked but the probe's net_cls hierarchy outlived its umount", **evidence
        )
    return passed(
        f"classid read back {classid} (0x100001) and the child showed {line!r}; "
        "datapath not verified",
        **evidence,
    )


@probe(
    "cg.net_prio.v1",
    title="net_prio controller v1: ifpriomap",
    item=SPECIFIC,
    since="3.3",
    config=("CONFIG_CGROUP_NET_PRIO",),
    intrusive=True,
    timeout=15.0,
)
@_layout
def net_prio_v1(ctx: ProbeContext) -> Verdict:
    """Pass (interface level): "lo 5" written to net_prio.ifpriomap reads back; the
    datapath (skb->priority on egress) is not verified."""
    _net_v1_guard()
    cgroupfs.controller("net_prio")
    with _v1_hierarchy(ctx, "net_prio") as (base, teardown):
        group = cgroupfs.create(ctx, base)
        try:
            cgroupfs.write(os.path.join(group, "net_prio.ifpriomap"), "lo 5")
            priomap = cgroupfs.read(os.path.join(group, "net_prio.ifpriomap")).splitlines()
            prioidx = int(cgroupfs.read(os.path.join(group, "net_prio.prioidx")))
        finally:
            cgroupfs.remove(group)
    evidence = {"ifpriomap": priomap, "prioidx": prioidx, "datapath_verified": False, **teardown}
    if "lo 5" not in priomap:
        raise failed(f"ifpriomap read back {priomap} without 'lo 5'", **evidence)
    if teardown.get("hierarchy_gone") is False:
        raise failed(
            "ifpriomap worked but the probe's net_prio hierarchy outlived its umount", **evidence
        )
    return passed(
        f"ifpriomap read back 'lo 5' (prioidx {prioidx}); datapath not verified", **evidence
    )


# --- perf_event, rdma, misc --------------------------------------------------------------------

PERF_TYPE_SOFTWARE = 1
PERF_COUNT_SW_CPU_CLOCK = 0
PERF_FLAG_PID_CGROUP = 4
PERF_FLAG_FD_CLOEXEC = 8


@probe(
    "cg.perf_event.v2",
    title="perf_event controller: per-cgroup counting on cgroup2",
    item=SPECIFIC,
    since="4.11",
    config=("CONFIG_CGROUP_PERF", "CONFIG_PERF_EVENTS"),
    intrusive=True,
    exclusive=True,
    timeout=10.0,
)
@_layout
def perf_event_v2(ctx: ProbeContext) -> Verdict:
    """Pass: a cpu-clock counter opened on the cgroup (PERF_FLAG_PID_CGROUP, CPU 0)
    counts 0.1-0.26 s while a child pinned to CPU 0 spins 0.2 s inside it.

    The child spins for 0.2 s of its own CPU time rather than wall time, so that
    other load on CPU 0 (outside this runner) cannot shrink the count."""
    info = cgroupfs.controller("perf_event")
    if info.hierarchy != 0:
        raise cgroupfs.BoundToV1("perf_event", info.hierarchy)
    group = cgroupfs.create(ctx, cgroupfs.own_dir(cgroupfs.V2))
    dirfd = os.open(group, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    cpu = min(os.sched_getaffinity(0))
    start, ready = Gate(), Gate()
    counter = -1
    child: Child | None = None
    try:
        attr = struct.pack(
            "<IIQQQQQ", PERF_TYPE_SOFTWARE, 128, PERF_COUNT_SW_CPU_CLOCK, 0, 0, 0, 0
        ).ljust(128, b"\0")
        buf = ctypes.create_string_buffer(attr, len(attr))
        child = Child(_spinner(group, 0.2, cpu, start, ready, cpu_time=True))
        ready.wait(5.0)
        try:
            counter = syscall(
                "perf_event_open", buf, dirfd, cpu, -1, PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC
            )
        except OSError as err:
            if err.errno in (errno.EACCES, errno.EPERM):
                paranoid = cgroupfs.read("/proc/sys/kernel/perf_event_paranoid")
                raise verdict_from_oserror(
                    err, f"perf_event_open on a cgroup (perf_event_paranoid={paranoid})"
                ) from err
            with introducing("perf_event_open(PERF_FLAG_PID_CGROUP)"):
                raise
        start.open()
        spun = child.result(5.0)
        wait_exit(child.pid, 5.0)
        count_ns = struct.unpack("Q", os.read(counter, 8))[0]
    finally:
        if counter >= 0:
            os.close(counter)
        if child is not None:
            child.finish()
        start.close()
        ready.close()
        os.close(dirfd)
        cgroupfs.remove(group)
    count = count_ns / 1e9
    evidence = {
        "count_ns": count_ns,
        "cpu": cpu,
        "spin_wall_s": round(spun["wall"], 4),
        "child_cpu_s": round(spun["cpu"], 4),
    }
    if not 0.1 < count <= 0.26:
        raise failed(f"the cgroup cpu-clock counted {count:.3f} s for a 0.2 s spin", **evidence)
    return passed(
        f"the cgroup cpu-clock counter on CPU {cpu} counted {count:.3f} s for a 0.2 s spin",
        **evidence,
    )


@contextmanager
def _interface_cgroup(ctx: ProbeContext, controller: str) -> Iterator[str]:
    """A probe cgroup with ``controller``: on its v1 hierarchy, else a cgroup2 leaf."""
    if cgroupfs.controller(controller).hierarchy != 0:
        group = cgroupfs.create(ctx, cgroupfs.own_dir(controller))
        try:
            yield group
        finally:
            cgroupfs.remove(group)
    else:
        cgroupfs.require_v2_controller(controller)
        with cgroupfs.v2_subtree(ctx, controller) as (_, leaf):
            yield leaf


@probe(
    "cg.rdma",
    title="rdma controller",
    item=SPECIFIC,
    since="4.11",
    config=("CONFIG_CGROUP_RDMA",),
    timeout=10.0,
)
@_layout
def rdma(ctx: ProbeContext) -> Verdict:
    """Pass (interface level): a per-device limit written to rdma.max reads back.
    Unsupported without the controller or without RDMA devices (empty rdma.max)."""
    cgroupfs.controller("rdma")
    with _interface_cgroup(ctx, "rdma") as group:
        devices = cgroupfs.read(os.path.join(group, "rdma.max")).splitlines()
        if not devices:
            raise unsupported("rdma.max is empty: no RDMA devices on this host")
        device = devices[0].split()[0]
        cgroupfs.write(os.path.join(group, "rdma.max"), f"{device} hca_handle=2 hca_object=2")
        after = cgroupfs.read(os.path.join(group, "rdma.max")).splitlines()
    line = next((ln for ln in after if ln.startswith(device)), "")
    evidence = {"rdma_max": after, "enforcement_verified": False}
    if "hca_handle=2" not in line or "hca_object=2" not in line:
        raise failed(f"rdma.max read back {line!r}", **evidence)
    return passed(f"rdma.max read back {line!r}; enforcement not verified", **evidence)


@probe(
    "cg.misc",
    title="misc controller",
    item=SPECIFIC,
    since="5.13",
    config=("CONFIG_CGROUP_MISC",),
    timeout=10.0,
)
@_layout
def misc(ctx: ProbeContext) -> Verdict:
    """Pass (interface level): a limit of 0 for a resource listed in the root's
    misc.capacity reads back from misc.max. Unsupported without the controller or
    without misc resources (empty misc.capacity)."""
    info = cgroupfs.controller("misc")
    if info.hierarchy != 0:
        mount = cgroupfs.v1_mount("misc")
        if mount is None or mount.root != "/":
            raise cgroupfs.NotMounted("the v1 misc hierarchy root is not visible")
        root = mount.mount_point
    else:
        root = cgroupfs.v2_root()
    capacity = cgroupfs.read(os.path.join(root, "misc.capacity")).splitlines()
    if not capacity:
        raise unsupported("misc.capacity is empty: no misc resources (sev, sev_es, tdx...) here")
    resource_name = capacity[0].split()[0]
    with _interface_cgroup(ctx, "misc") as group:
        cgroupfs.write(os.path.join(group, "misc.max"), f"{resource_name} 0")
        limits = cgroupfs.read(os.path.join(group, "misc.max")).splitlines()
    evidence = {"capacity": capacity, "misc_max": limits, "enforcement_verified": False}
    if f"{resource_name} 0" not in limits:
        raise failed(f"misc.max read back {limits} without '{resource_name} 0'", **evidence)
    return passed(f"misc.max read back '{resource_name} 0'; enforcement not verified", **evidence)
