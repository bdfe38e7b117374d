"""The runner with test-only probes: deadlines, cleanup after a kill, errors, parallelism, order.

The probes here are ``catalogue.Probe`` objects built by the ``make_probe``
fixture and never registered in the catalogue. They report what they
created over a side channel so the test can check it is gone afterwards.
"""

from __future__ import annotations

import errno
import os
import signal
import time

import pytest

from probes.engine import runner
from probes.engine.results import Status
from probes.engine.verdicts import passed

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="creating cgroups needs root")


def _mounts() -> list[tuple[str, str, set[str]]]:
    rows = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            rows.append((fields[4], tail[0], set(tail[2].split(","))))
    return rows


def own_cgroup(controller: str | None) -> str | None:
    """This process's cgroup directory in the v1 hierarchy of ``controller`` (None: cgroup2)."""
    with open("/proc/self/cgroup") as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    for _, controllers, path in lines:
        if controller is None and controllers == "":
            point = next((p for p, fs, _ in _mounts() if fs == "cgroup2"), None)
        elif controller is not None and controller in controllers.split(","):
            point = next((p for p, fs, o in _mounts() if fs == "cgroup" and controller in o), None)
        else:
            continue
        if point is not None:
            return os.path.join(point, path.lstrip("/"))
    return None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _sleep_forever() -> None:
    while True:
        time.sleep(60)


# -- deadlines and cleanup after a kill -------------------------------------------------------


@root_only
def test_it_kills_a_hanging_probe_at_its_deadline_and_removes_what_it_registered(
    make_probe, side_channel
):
    v1_parent = own_cgroup("pids") or own_cgroup("memory")
    v2_parent = own_cgroup(None)
    if v1_parent is None or v2_parent is None:
        pytest.skip("needs a v1 pids or memory hierarchy and a cgroup2 mount")

    def hang(ctx):
        scratch = ctx.scratch()
        with open(os.path.join(scratch, "file"), "w") as f:
            f.write("left behind on purpose")
        cgroups = []
        for parent, suffix in ((v1_parent, "v1"), (v2_parent, "v2")):
            path = os.path.join(parent, ctx.name(suffix))
            ctx.register("cgroup", path)
            os.mkdir(path)
            cgroups.append(path)
        member = os.fork()
        if member == 0:
            os.setsid()  # out of the probe's group: only the cgroup cleanup can find it
            _sleep_forever()
        for path in cgroups:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(member))
        worker = os.fork()
        if worker == 0:  # stays in the probe's process group
            _sleep_forever()
        side_channel.send(
            pgid=os.getpgid(0), scratch=scratch, cgroups=cgroups, member=member, worker=worker
        )
        _sleep_forever()

    started = time.monotonic()
    [result] = runner.run([make_probe("test.hang", hang, timeout=0.5)], jobs=1)
    elapsed = time.monotonic() - started
    [info] = side_channel.receive()

    assert result.status is Status.TIMEOUT
    assert "killed" in result.detail
    assert 0.5 <= result.duration_ms / 1000 < 2.0
    assert elapsed < 3.0
    assert "cleanup_failed" not in result.evidence
    assert not os.path.exists(info["scratch"])
    for path in info["cgroups"]:
        assert not os.path.exists(path), f"{path} survived the kill"
    assert not _group_alive(info["pgid"])
    assert not _alive(info["member"])
    assert not _alive(info["worker"])
    assert result.config == {}  # no kernel config was given: nothing to explain with


def test_it_kills_a_grandchild_that_escaped_with_setsid(make_probe, side_channel):
    def escape(ctx):
        ready_r, ready_w = os.pipe()
        grandchild = os.fork()
        if grandchild == 0:
            os.setsid()
            side_channel.send(grandchild=os.getpid(), session=os.getsid(0))
            os.write(ready_w, b"1")
            _sleep_forever()
        os.read(ready_r, 1)  # it is in its own session now
        return passed("left a grandchild in its own session")

    [result] = runner.run([make_probe("test.escape", escape)], jobs=1)
    [info] = side_channel.receive()

    assert result.status is Status.PASS
    assert info["session"] == info["grandchild"]  # it really was in a session of its own
    assert not _alive(info["grandchild"])


def test_it_kills_what_a_timed_out_probe_forked_in_a_new_session(make_probe, side_channel):
    def hang_with_daemon(ctx):
        middle = os.fork()
        if middle == 0:  # double fork: the daemon's parent is gone before the deadline
            os.setsid()
            daemon = os.fork()
            if daemon == 0:
                _sleep_forever()
            side_channel.send(daemon=daemon)
            _sleep_forever()
        _sleep_forever()

    [result] = runner.run([make_probe("test.daemon", hang_with_daemon, timeout=0.3)])
    [info] = side_channel.receive()
    assert result.status is Status.TIMEOUT
    assert not _alive(info["daemon"])


def test_a_probe_that_dies_while_a_grandchild_holds_its_pipe_ends_at_once(make_probe, side_channel):
    def dies(ctx):
        if os.fork() == 0:  # inherits the result pipe and keeps it open
            _sleep_forever()
        os.kill(os.getpid(), signal.SIGKILL)

    [result] = runner.run([make_probe("test.dies", dies, timeout=5.0)])
    assert result.status is Status.ERROR
    assert "SIGKILL" in result.detail
    assert result.duration_ms < 2000  # not left waiting for its deadline


# -- probes that break ------------------------------------------------------------------------


def test_a_probe_that_raises_is_an_error_and_the_runner_goes_on(make_probe):
    def broken(ctx):
        raise RuntimeError("the probe's own bug")

    def fine(ctx):
        return passed("ran after the broken one")

    broken_result, fine_result = runner.run(
        [make_probe("test.broken", broken), make_probe("test.fine", fine)], jobs=1
    )
    assert broken_result.status is Status.ERROR
    assert "RuntimeError" in broken_result.detail
    assert "the probe's own bug" in broken_result.detail
    assert "RuntimeError" in broken_result.evidence["traceback"]
    assert fine_result.status is Status.PASS


def test_a_probe_that_returns_something_else_is_an_error(make_probe):
    [result] = runner.run([make_probe("test.none", lambda ctx: None)])
    assert result.status is Status.ERROR
    assert "not a verdict" in result.detail


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (errno.ENOSYS, Status.UNSUPPORTED),
        (errno.EOPNOTSUPP, Status.UNSUPPORTED),
        (errno.ENOSPC, Status.DISABLED),
        (errno.EUSERS, Status.DISABLED),
        (errno.EPERM, Status.DENIED),
        (errno.EACCES, Status.DENIED),
        (errno.EIO, Status.ERROR),
    ],
)
def test_an_oserror_escaping_a_probe_is_classified_by_errno(make_probe, code, status):
    def fails(ctx):
        raise OSError(code, os.strerror(code))

    [result] = runner.run([make_probe("test.oserror", fails)])
    assert result.status is status
    assert result.evidence["errno"] == errno.errorcode[code]


def test_a_non_pass_carries_the_config_options_that_explain_it(make_probe):
    from probes.engine.kconfig import KernelConfig

    config = KernelConfig("test", {"CONFIG_TEST_ONLY": "y"})

    def fails(ctx):
        raise OSError(errno.ENOSYS, "no such syscall")

    [result] = runner.run([make_probe("test.config", fails)], kernel_config=config)
    assert result.config == {"CONFIG_TEST_ONLY": "y"}


def test_nothing_a_probe_writes_to_stdout_reaches_it(make_probe, capfd):
    def noisy(ctx):
        os.write(1, b"probe noise on stdout\n")
        return passed("wrote to fd 1")

    [result] = runner.run([make_probe("test.noisy", noisy)])
    assert result.status is Status.PASS
    assert "probe noise" not in capfd.readouterr().out


# -- parallelism and order --------------------------------------------------------------------


def _sleeper(seconds: float):
    def sleep(ctx):
        time.sleep(seconds)
        return passed(f"slept {seconds} s")

    return sleep


def test_jobs_really_run_probes_in_parallel(make_probe):
    probes = [make_probe(f"test.sleep{i}", _sleeper(0.3)) for i in range(2)]

    started = time.monotonic()
    results = runner.run(probes, jobs=2)
    parallel = time.monotonic() - started

    assert [r.status for r in results] == [Status.PASS, Status.PASS]
    assert parallel < 0.55

    started = time.monotonic()
    runner.run(probes, jobs=1)
    assert time.monotonic() - started >= 0.6  # and one job really is sequential


def test_an_exclusive_probe_runs_with_nothing_beside_it(make_probe, side_channel):
    def timed(seconds: float):
        def probe(ctx):
            start = time.monotonic()
            time.sleep(seconds)
            side_channel.send(id=ctx.probe.id, start=start, end=time.monotonic())
            return passed("timed")

        return probe

    probes = [
        make_probe("test.a", timed(0.1)),
        make_probe("test.exclusive", timed(0.1), exclusive=True),
        make_probe("test.b", timed(0.1)),
    ]
    runner.run(probes, jobs=3)
    spans = {r["id"]: (r["start"], r["end"]) for r in side_channel.receive()}
    start, end = spans.pop("test.exclusive")
    for other_start, other_end in spans.values():
        assert other_end <= start or other_start >= end


def test_results_stay_in_catalogue_order_whatever_finishes_first(make_probe):
    probes = [make_probe(f"test.order{i}", _sleeper(0.05 * (4 - i))) for i in range(4)]
    results = runner.run(probes, jobs=4)
    assert [r.probe_id for r in results] == [p.id for p in probes]


def test_on_result_is_called_as_each_probe_finishes(make_probe):
    probes = [make_probe("test.slow", _sleeper(0.2)), make_probe("test.quick", _sleeper(0.0))]
    seen = []
    results = runner.run(probes, jobs=2, on_result=lambda r: seen.append(r.probe_id))
    assert seen == ["test.quick", "test.slow"]  # finishing order
    assert [r.probe_id for r in results] == ["test.slow", "test.quick"]  # catalogue order


def test_an_exception_in_on_result_still_stops_and_cleans_running_probes(make_probe, side_channel):
    def long(ctx):
        scratch = ctx.scratch("long")
        side_channel.send(pid=os.getpid(), scratch=scratch)
        _sleep_forever()

    def quick(ctx):
        time.sleep(0.2)  # the long probe has registered its scratch by now
        return passed("quick")

    def explode(result):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run(
            [make_probe("test.long", long), make_probe("test.quick", quick)],
            jobs=2,
            on_result=explode,
        )
    [info] = side_channel.receive()
    assert not _alive(info["pid"])
    assert not os.path.exists(info["scratch"])


# -- the janitor ------------------------------------------------------------------------------


def test_the_janitor_removes_and_reports_what_a_probe_did_not_register(make_probe, side_channel):
    def careless(ctx):
        path = os.path.join("/tmp", ctx.name("unregistered"))
        os.mkdir(path)  # never registered: only the janitor can find it
        side_channel.send(path=path)
        return passed("left a directory")

    results = runner.run([make_probe("test.careless", careless)])
    [info] = side_channel.receive()
    assert not os.path.exists(info["path"])
    assert {"kind": "path", "what": info["path"], "fixed": True}.items() <= (
        results.janitor[0].items()
    )


def test_the_janitor_leaves_alone_what_a_live_process_owns(tmp_path):
    from probes.engine import janitor

    mine = f"/tmp/probe_test_live_{os.getpid()}"
    os.mkdir(mine)
    try:
        assert not [f for f in janitor.sweep() if f["what"] == mine]
        assert os.path.isdir(mine)
    finally:
        os.rmdir(mine)


def test_run_without_the_janitor_reports_no_findings(make_probe):
    results = runner.run([make_probe("test.fine", lambda ctx: passed("ok"))], janitor=False)
    assert results.janitor == []
