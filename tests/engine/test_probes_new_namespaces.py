"""The "continuation with new namespaces" probes, run for real on this host.

Every probe runs once through ``runner.run`` (one batched call per scenario);
the expected status is derived from what the host shows: kernel release vs
the probe's ``since``, the kernel config, /proc/sys/user limits and policy
knobs, the filesystem under /tmp and the util-linux tools on PATH. The
negative paths are exercised without touching the host: inside a user
namespace whose own namespace limits are 0, and as uid 65534.
"""

from __future__ import annotations

import glob
import os
import re
import shutil

import pytest

from probes.engine import catalogue, kconfig, runner
from probes.engine.process import Child, Gate
from probes.engine.results import ProbeResult, Status
from probes.engine.syscalls import CLONE_NEWUSER, PR_SET_DUMPABLE, prctl, unshare

GLOBS = [
    "ns.devpts.*",
    "ns.tty.*",
    "ns.user.*",
    "ns.time.*",
    "ns.cgroup.*",
    "ns.api.*",
    "ns.setns.*",
]

# id -> roadmap item, as the brief assigns them.
ITEMS = {
    "ns.devpts.newinstance": "devpts-console-tty",
    "ns.devpts.tiocgptpeer": "devpts-console-tty",
    "ns.tty.pty_ctty": "devpts-console-tty",
    "ns.tty.container_console": "devpts-console-tty",
    "ns.user.root_mapped": "user-namespace",
    "ns.user.unprivileged": "user-namespace",
    "ns.user.capability_scope": "user-namespace",
    "ns.user.idmapped_mount": "user-namespace",
    "ns.time.offsets": "time-namespace",
    "ns.cgroup.isolation": "new-namespaces",
    "ns.api.inventory": "namespace-management-tools",
    "ns.api.nsfs_ioctl": "namespace-management-tools",
    "ns.api.persist_bind_mount": "namespace-management-tools",
    "ns.api.util_linux_tools": "namespace-management-tools",
    "ns.user.per_userns_limits": "namespace-management-tools",
    "ns.setns.nsfd": "namespace-entering",
    "ns.setns.pidfd_multi": "namespace-entering",
    "ns.setns.pid_mnt_user": "namespace-entering",
}

# id -> (CONFIG_ options without which it cannot pass, namespace limits it consumes).
NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ns.devpts.newinstance": (("CONFIG_UNIX98_PTYS",), ("mnt",)),
    "ns.devpts.tiocgptpeer": (("CONFIG_UNIX98_PTYS",), ()),
    "ns.tty.pty_ctty": (("CONFIG_UNIX98_PTYS",), ()),
    "ns.tty.container_console": (("CONFIG_UNIX98_PTYS",), ("mnt",)),
    "ns.user.root_mapped": (("CONFIG_USER_NS",), ("user",)),
    "ns.user.unprivileged": (("CONFIG_USER_NS",), ("user",)),
    "ns.user.capability_scope": (
        ("CONFIG_USER_NS", "CONFIG_UTS_NS", "CONFIG_NET_NS"),
        ("user", "uts", "net", "mnt"),
    ),
    "ns.user.idmapped_mount": (("CONFIG_USER_NS",), ("user", "mnt")),
    "ns.time.offsets": (("CONFIG_TIME_NS",), ("time",)),
    "ns.cgroup.isolation": (("CONFIG_CGROUPS",), ("cgroup",)),
    "ns.api.inventory": ((), ()),
    "ns.api.nsfs_ioctl": (("CONFIG_PID_NS",), ("pid",)),
    "ns.api.persist_bind_mount": (("CONFIG_NET_NS", "CONFIG_UTS_NS"), ("mnt", "net", "uts")),
    "ns.api.util_linux_tools": (
        ("CONFIG_PID_NS", "CONFIG_NET_NS", "CONFIG_UTS_NS"),
        ("pid", "net", "uts", "mnt"),
    ),
    "ns.user.per_userns_limits": (("CONFIG_USER_NS", "CONFIG_NET_NS"), ("user",)),
    "ns.setns.nsfd": (("CONFIG_NET_NS", "CONFIG_UTS_NS", "CONFIG_IPC_NS"), ("net", "uts", "ipc")),
    "ns.setns.pidfd_multi": (
        ("CONFIG_NET_NS", "CONFIG_UTS_NS", "CONFIG_IPC_NS"),
        ("net", "uts", "ipc"),
    ),
    "ns.setns.pid_mnt_user": (("CONFIG_PID_NS", "CONFIG_USER_NS"), ("pid", "mnt", "user")),
}

# First kernel whose filesystem accepts idmapped mounts.
IDMAP_FS = {"ext4": (5, 12), "xfs": (5, 12), "btrfs": (5, 15), "tmpfs": (6, 3)}

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def _sysctl(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _fstype(path: str) -> str:
    best, fstype = "", ""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            point = left.split()[4]
            if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) >= len(
                best
            ):
                best, fstype = point, right.split()[0]
    return fstype


def _initial_userns() -> bool:
    return (_sysctl("/proc/self/uid_map") or "").split() == ["0", "0", "4294967295"]


def expected_status(probe_id: str) -> Status:
    """What this host should answer, from its facts alone."""
    spec = catalogue.load()[probe_id]
    kernel = _version(os.uname().release)
    if kernel < _version(spec.since):
        return Status.UNSUPPORTED
    config = kconfig.read()
    options, limits = NEEDS[probe_id]
    if config.source and any(config.options.get(o, "n") not in ("y", "m") for o in options):
        return Status.UNSUPPORTED
    if any(_sysctl(f"/proc/sys/user/max_{kind}_namespaces") == "0" for kind in limits):
        return Status.DISABLED
    unprivileged_userns_off = (
        _sysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0"
        or _sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1"
    )
    if not spec.needs_root and "user" in limits and unprivileged_userns_off:
        return Status.DISABLED
    if probe_id == "ns.api.util_linux_tools" and not all(
        shutil.which(t) for t in ("unshare", "nsenter", "lsns")
    ):
        return Status.SKIPPED
    if probe_id == "ns.user.idmapped_mount":
        if not _initial_userns():  # CAP_SYS_ADMIN over the superblock's user ns is missing
            return Status.DENIED
        since = IDMAP_FS.get(_fstype("/tmp"))
        if since is None or kernel < since:
            return Status.UNSUPPORTED
    return Status.PASS


def _run(probe_ids: list[str] | None = None) -> dict[str, ProbeResult]:
    catalogue.load()
    chosen = catalogue.select(probe_ids or GLOBS, intrusive=True)
    return {r.probe_id: r for r in runner.run(chosen, jobs=2, kernel_config=kconfig.read())}


@pytest.fixture(scope="module")
def results() -> dict[str, ProbeResult]:
    return _run()


def _explain(result: ProbeResult) -> str:
    return f"{result.probe_id}: {result.status} - {result.detail} {result.evidence}"


def test_it_declares_the_eighteen_probes_with_their_roadmap_items() -> None:
    catalogue.load()
    mine = {p.id: p for p in catalogue.select(GLOBS, intrusive=True)}
    assert {pid: p.item for pid, p in mine.items()} == ITEMS
    assert not any(p.intrusive or p.exclusive for p in mine.values())
    assert all(p.timeout >= 5 for p in mine.values())


@pytest.mark.parametrize("probe_id", sorted(ITEMS))
def test_it_answers_what_the_host_facts_predict(
    results: dict[str, ProbeResult], probe_id: str
) -> None:
    catalogue.load()
    if catalogue.CATALOGUE[probe_id].needs_root and os.geteuid() != 0:
        pytest.skip("needs root")
    result = results[probe_id]
    assert result.status == expected_status(probe_id), _explain(result)
    assert result.detail and "\n" not in result.detail


def _leftovers() -> list[str]:
    """Paths, cgroups and mounts named after one of this family's probes."""
    names = tuple("probe_" + pid.replace(".", "_") + "_" for pid in ITEMS)
    found = [p for p in glob.glob("/tmp/probe_*") if os.path.basename(p).startswith(names)]
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        found += [os.path.join(root, d) for d in dirs if d.startswith(names)]
    with open("/proc/self/mountinfo") as f:
        found += [line for line in f if any(n in line for n in names)]
    return found


def test_it_leaves_nothing_behind(results: dict[str, ProbeResult]) -> None:
    assert not [r.probe_id for r in results.values() if "cleanup_failed" in r.evidence]
    assert not _leftovers()


def test_it_records_evidence_a_reader_can_check(results: dict[str, ProbeResult]) -> None:
    tools = results["ns.api.util_linux_tools"]
    if tools.status is Status.PASS:
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?", tools.evidence["util_linux"])
    idmapped = results["ns.user.idmapped_mount"]
    if idmapped.status in (Status.PASS, Status.UNSUPPORTED):
        assert idmapped.evidence["fstype"] == _fstype("/tmp")
    inventory = results["ns.api.inventory"]
    assert inventory.status is Status.PASS
    assert set(inventory.evidence["links"]) <= {
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
    }


def _in_limited_userns(limits: dict[str, str], probe_ids: list[str]) -> dict[str, ProbeResult]:
    """Run probes inside a full-range user ns whose own max_*_namespaces are set to ``limits``.

    Limits are hierarchical and per user namespace, so this never touches the host's values.
    """
    entered, mapped = Gate(), Gate()

    def inside() -> list[dict]:
        unshare(CLONE_NEWUSER)
        entered.open()
        mapped.wait(10)
        for name, value in limits.items():
            with open(f"/proc/sys/user/{name}", "w") as f:
                f.write(value)
        return [r.to_json() for r in _run(probe_ids).values()]

    child = Child(inside)
    try:
        entered.wait(10)
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{child.pid}/{name}", "w") as f:
                f.write("0 0 4294967295")
        mapped.open()
        found = child.result(60)
    finally:
        child.finish()
        entered.close()
        mapped.close()
    return {r["probe_id"]: ProbeResult.from_json(r) for r in found}


@root_only
def test_it_says_disabled_when_a_namespace_limit_is_zero() -> None:
    user_probes = [
        "ns.user.root_mapped",
        "ns.user.unprivileged",
        "ns.user.capability_scope",
        "ns.user.per_userns_limits",
        "ns.user.idmapped_mount",
        "ns.setns.pid_mnt_user",
    ]
    if {expected_status("ns.time.offsets"), expected_status("ns.user.root_mapped")} != {
        Status.PASS
    }:
        pytest.skip("time or user namespaces do not pass here to begin with")
    found = _in_limited_userns(
        {"max_user_namespaces": "0", "max_time_namespaces": "0"},
        ["ns.time.offsets", *user_probes],
    )
    assert sorted(found) == sorted(["ns.time.offsets", *user_probes])
    for result in found.values():
        assert result.status is Status.DISABLED, _explain(result)
        assert result.evidence.get("errno") == "ENOSPC", _explain(result)


@root_only
def test_it_says_denied_for_root_probes_run_as_nobody() -> None:
    def as_nobody() -> list[dict]:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)  # from root to non-root: every capability is dropped too
        # An agent started as nobody was exec'd, which makes it dumpable again; without this
        # /proc/self/* stays root-owned (setuid cleared "dumpable") and the probes see EACCES.
        prctl(PR_SET_DUMPABLE, 1)
        return [r.to_json() for r in _run().values()]

    catalogue.load()  # import every family now: nobody cannot read this interpreter's tree
    child = Child(as_nobody)
    try:
        found = [ProbeResult.from_json(r) for r in child.result(60)]
    finally:
        child.finish()
    catalogue.load()
    for result in found:
        if catalogue.CATALOGUE[result.probe_id].needs_root:
            assert result.status is Status.DENIED, _explain(result)
        else:
            assert result.status is expected_status(result.probe_id), _explain(result)
    assert not _leftovers()
