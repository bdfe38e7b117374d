"""The task-container (cgroup) probes, run for real through the runner.

Each probe's expected status is derived from what this host shows, read here
independently of ``cgroupfs``: /proc/cgroups (which controllers exist and
which v1 hierarchy holds them), the cgroup2 mount and its root
``cgroup.controllers``, the kernel release against the probe's ``since``, the
kernel config (when readable) and the CPU count. Intrusive probes are included:
this is the reference host kind, and each one restores what it changes.
"""

from __future__ import annotations

import os
import re

import pytest

from probes.engine import catalogue, cgroupfs, kconfig, runner
from probes.engine.results import ProbeResult, Status

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="these probes need root")

BASE = {
    "cg.base.v1_named_hierarchy",
    "cg.base.v2_core",
    "cg.base.v2_kill",
    "cg.base.clone_into_cgroup",
}
SPECIFIC = {
    "cg.cpu.v1_cfs_quota",
    "cg.cpu.v1_shares",
    "cg.cpu.v2_max_weight",
    "cg.cpuacct.v1_usage",
    "cg.cpuset.v1_pin",
    "cg.cpuset.v2_pin",
    "cg.memory.v1_limit_oom",
    "cg.memory.v2_max_oom",
    "cg.pids.v1_max",
    "cg.pids.v2_max",
    "cg.freezer.v1",
    "cg.devices.v1_deny",
    "cg.devices.v2_bpf",
    "cg.blkio.v1_throttle",
    "cg.io.v2_max",
    "cg.hugetlb.v2",
    "cg.hugetlb.v1",
    "cg.net_cls.v1",
    "cg.net_prio.v1",
    "cg.perf_event.v2",
    "cg.rdma",
    "cg.misc",
}
INTRUSIVE = {
    "cg.hugetlb.v1",
    "cg.hugetlb.v2",
    "cg.net_cls.v1",
    "cg.net_prio.v1",
    "cg.base.v1_named_hierarchy",
    "cg.blkio.v1_throttle",
    "cg.cpu.v1_cfs_quota",
    "cg.cpu.v1_shares",
    "cg.cpu.v2_max_weight",
    "cg.perf_event.v2",
    "cg.memory.v1_limit_oom",
    "cg.memory.v2_max_oom",  # an OOM kill on a v2 host too
    "cg.io.v2_max",  # disk load on a v2 host too
}
EXCLUSIVE = {
    "cg.cpu.v1_cfs_quota",
    "cg.cpu.v1_shares",
    "cg.cpu.v2_max_weight",
    "cg.perf_event.v2",
    "cg.blkio.v1_throttle",
    "cg.io.v2_max",
}
# v1 controller probes: the controller they need bound to a host v1 hierarchy.
V1 = {
    "cg.cpu.v1_cfs_quota": "cpu",
    "cg.cpu.v1_shares": "cpu",
    "cg.cpuacct.v1_usage": "cpuacct",
    "cg.cpuset.v1_pin": "cpuset",
    "cg.memory.v1_limit_oom": "memory",
    "cg.pids.v1_max": "pids",
    "cg.freezer.v1": "freezer",
    "cg.devices.v1_deny": "devices",
    "cg.blkio.v1_throttle": "blkio",
}
# v2 controller probes: the controller cgroup2 must offer (its /proc/cgroups name).
V2 = {
    "cg.cpu.v2_max_weight": "cpu",
    "cg.cpuset.v2_pin": "cpuset",
    "cg.memory.v2_max_oom": "memory",
    "cg.pids.v2_max": "pids",
    "cg.io.v2_max": "blkio",
    "cg.hugetlb.v2": "hugetlb",
}


# -- host facts, read without the code under test -----------------------------------------------


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def _proc_cgroups() -> dict[str, int]:
    rows = {}
    with open("/proc/cgroups") as f:
        for line in f:
            parts = line.split()
            if parts and not line.startswith("#") and parts[3] == "1":
                rows[parts[0]] = int(parts[1])
    return rows


def _cgroup_mounts() -> list[tuple[str, str, set[str]]]:
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, _, options = right.split()[:3]
            if fstype in ("cgroup", "cgroup2"):
                found.append((left.split()[4], fstype, set(options.split(","))))
    return found


def _cgroup2_root() -> str | None:
    return next((point for point, fstype, _ in _cgroup_mounts() if fstype == "cgroup2"), None)


def _v2_controllers() -> set[str]:
    root = _cgroup2_root()
    if root is None:
        return set()
    with open(os.path.join(root, "cgroup.controllers")) as f:
        return set(f.read().split())


def _on_v1(controller: str) -> bool:
    mounted = any(fstype == "cgroup" and controller in opts for _, fstype, opts in _cgroup_mounts())
    return _proc_cgroups().get(controller, 0) != 0 and mounted


def _config_off(config: kconfig.KernelConfig, *names: str) -> bool:
    return config.source is not None and any(name not in config.options for name in names)


def expected_status(probe_id: str, config: kconfig.KernelConfig) -> Status:
    """What this host should answer, from its own facts."""
    declared = catalogue.CATALOGUE[probe_id]
    release = _version(os.uname().release)
    controllers = _proc_cgroups()
    if probe_id in ("cg.net_cls.v1", "cg.net_prio.v1"):
        if release < (5, 15):
            return Status.SKIPPED
        name = probe_id.split(".")[1]
        return Status.PASS if name in controllers else Status.UNSUPPORTED
    if probe_id == "cg.rdma":
        if "rdma" not in controllers:
            return Status.UNSUPPORTED
        has_devices = os.path.isdir("/sys/class/infiniband") and os.listdir("/sys/class/infiniband")
        return Status.PASS if has_devices else Status.UNSUPPORTED
    if probe_id == "cg.misc":
        if "misc" not in controllers or _cgroup2_root() is None:
            return Status.UNSUPPORTED
        with open(os.path.join(_cgroup2_root(), "misc.capacity")) as f:
            return Status.PASS if f.read().strip() else Status.UNSUPPORTED
    if release < _version(declared.since) or _config_off(config, *declared.config):
        return Status.UNSUPPORTED
    if probe_id in V1:
        if not _on_v1(V1[probe_id]):
            return Status.UNSUPPORTED
        if probe_id == "cg.cpuset.v1_pin" and len(os.sched_getaffinity(0)) < 2:
            return Status.UNSUPPORTED
        return Status.PASS
    if probe_id in V2:
        name = V2[probe_id]
        v2_name = "io" if name == "blkio" else name
        usable = controllers.get(name) == 0 and v2_name in _v2_controllers()
        return Status.PASS if usable else Status.UNSUPPORTED
    if probe_id == "cg.hugetlb.v1":
        return Status.PASS if "hugetlb" in controllers else Status.UNSUPPORTED
    if probe_id == "cg.perf_event.v2":
        usable = controllers.get("perf_event") == 0 and _cgroup2_root() is not None
        return Status.PASS if usable else Status.UNSUPPORTED
    if probe_id == "cg.base.v1_named_hierarchy":
        with open("/proc/cmdline") as f:
            off = re.search(r"cgroup_no_v1=\S*(named|all)", f.read())
        return Status.UNSUPPORTED if off else Status.PASS
    # The cgroup2 base probes and devices.v2_bpf need only a cgroup2 mount.
    return Status.PASS if _cgroup2_root() is not None else Status.UNSUPPORTED


# -- one batched run for the module -------------------------------------------------------------


@pytest.fixture(scope="module")
def host_config() -> kconfig.KernelConfig:
    return kconfig.read()


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _subtree_control() -> str | None:
    root = _cgroup2_root()
    return _read(os.path.join(root, "cgroup.subtree_control")) if root else None


def _dead_owner(name: str) -> bool:
    """Names end in the pid of the probe that made them; a live one is still running."""
    match = re.search(r"_(\d+)$", name)
    return not (match and os.path.exists(f"/proc/{match.group(1)}"))


@pytest.fixture(scope="module")
def before() -> dict[str, object]:
    return {
        "bindings": _proc_cgroups(),
        "hugepages": _read("/proc/sys/vm/nr_hugepages"),
        "subtree": _subtree_control(),
    }


@pytest.fixture(scope="module")
def results(host_config: kconfig.KernelConfig, before: dict[str, object]) -> dict[str, ProbeResult]:
    catalogue.load()
    chosen = catalogue.select(["cg.*"], intrusive=True)
    ran = runner.run(chosen, jobs=2, kernel_config=host_config)
    return {r.probe_id: r for r in ran}


def test_it_declares_the_twenty_six_probes_under_their_items() -> None:
    catalogue.load()
    declared = {pid for pid in catalogue.CATALOGUE if pid.startswith("cg.")}
    assert declared == BASE | SPECIFIC
    for probe_id in declared:
        probe = catalogue.CATALOGUE[probe_id]
        assert probe.item == ("task-containers-base" if probe_id in BASE else "specific-containers")
        assert probe.intrusive == (probe_id in INTRUSIVE), probe_id
        assert probe.exclusive == (probe_id in EXCLUSIVE), probe_id
        assert probe.needs_root
        assert probe.timeout >= 5.0
        assert probe.func.__doc__ and "Pass" in probe.func.__doc__


@pytest.mark.parametrize("probe_id", sorted(BASE | SPECIFIC))
def test_it_reports_what_this_host_supports(
    probe_id: str, results: dict[str, ProbeResult], host_config: kconfig.KernelConfig
) -> None:
    result = results[probe_id]
    assert result.status is expected_status(probe_id, host_config), (
        result.detail,
        result.evidence,
    )
    assert result.detail
    assert "cleanup_failed" not in result.evidence


@pytest.mark.parametrize("probe_id", sorted(V2))
def test_it_names_the_v1_hierarchy_holding_a_v2_controller(
    probe_id: str, results: dict[str, ProbeResult]
) -> None:
    hierarchy = _proc_cgroups().get(V2[probe_id], 0)
    if hierarchy == 0:
        pytest.skip(f"{V2[probe_id]} is not bound to a v1 hierarchy here")
    assert results[probe_id].detail.endswith(f"bound to cgroup v1 hierarchy {hierarchy}")


def test_it_sees_the_limits_enforced(results: dict[str, ProbeResult]) -> None:
    checks = {
        "cg.pids.v1_max": lambda e: e["forks"] == 3 and e["refused"] == "EAGAIN",
        "cg.memory.v1_limit_oom": lambda e: e["oom_child"] == "killed by SIGKILL",
        "cg.freezer.v1": lambda e: e["count_frozen"][0] == e["count_frozen"][1] and e["resumed"],
        "cg.devices.v1_deny": lambda e: e["opens"] == {"/dev/null": "EPERM", "/dev/zero": "ok"},
        "cg.devices.v2_bpf": lambda e: e["opens"] == {"/dev/null": "EPERM", "/dev/zero": "ok"},
        "cg.cpu.v1_cfs_quota": lambda e: e["fraction"] < 0.35 and e["cpu_stat"]["nr_throttled"],
        "cg.cpuset.v1_pin": lambda e: len(e["affinity"]) == 1 and e["escape"] == "EINVAL",
        "cg.hugetlb.v1": lambda e: e["second_page"] == "SIGBUS",
        "cg.hugetlb.v2": lambda e: e["second_page"] == "SIGBUS",
        "cg.base.v2_core": lambda e: e["populated"] == [0, 1, 0],
    }
    for probe_id, check in checks.items():
        result = results[probe_id]
        if result.status is Status.PASS:
            assert check(result.evidence), (probe_id, result.evidence)


def test_it_leaves_nothing_behind(
    results: dict[str, ProbeResult], before: dict[str, object]
) -> None:
    tags = tuple(f"probe_{probe_id.replace('.', '_')}" for probe_id in BASE | SPECIFIC)
    assert not [n for n in os.listdir("/tmp") if n.startswith(tags) and _dead_owner(n)]
    with open("/proc/self/mountinfo") as f:
        assert not [line for line in f if any(f"/{tag}" in line for tag in tags)]
    for point, _, _ in _cgroup_mounts():
        for directory, _, _ in os.walk(point):
            name = os.path.basename(directory)
            assert not (name.startswith(tags) and _dead_owner(name)), directory
    named = results["cg.base.v1_named_hierarchy"].evidence.get("line", "")
    if named:
        name = named.split(":")[1]
        assert name not in cgroupfs.membership(), f"{name} still listed in /proc/self/cgroup"
    assert _proc_cgroups() == before["bindings"]
    assert _read("/proc/sys/vm/nr_hugepages") == before["hugepages"]
    assert _subtree_control() == before["subtree"]


# -- cgroupfs layout helpers --------------------------------------------------------------------


def test_own_dir_maps_a_bind_mounted_subtree() -> None:
    mount = cgroupfs.CgroupMount("/sys/fs/cgroup/memory", "/a/b", "cgroup", frozenset({"memory"}))
    assert cgroupfs._inside(mount, "/a/b/c") == "/sys/fs/cgroup/memory/c"
    assert cgroupfs._inside(mount, "/a/b") == "/sys/fs/cgroup/memory"
    assert cgroupfs._inside(mount, "/a/bc") is None


def test_own_dirs_exist_for_every_mounted_hierarchy() -> None:
    membership = cgroupfs.membership()
    for point, fstype, options in _cgroup_mounts():
        if point.startswith("/tmp/probe_"):
            continue  # another probe's private hierarchy
        keys = [cgroupfs.V2] if fstype == "cgroup2" else [k for k in options if k in membership]
        for key in keys:
            assert os.path.isdir(cgroupfs.own_dir(key)), key


def test_a_controller_bound_to_v1_is_reported_with_its_hierarchy() -> None:
    bound = {name: h for name, h in _proc_cgroups().items() if h}
    if not bound:
        pytest.skip("no controller is bound to a v1 hierarchy here")
    name, hierarchy = sorted(bound.items())[0]
    with pytest.raises(cgroupfs.BoundToV1, match=f"hierarchy {hierarchy}$"):
        cgroupfs.require_v2_controller(name)


def test_an_absent_controller_is_no_controller() -> None:
    with pytest.raises(cgroupfs.NoController):
        cgroupfs.controller("no_such_controller")
