"""The checkpoint/restart probes (catalogue section 5), run for real through the runner.

Each probe's expected status is derived from what this host shows, read here
without the code under test: the kernel release against ``since``, the kernel
config (when readable), the namespace limits, /proc/cgroups and the cgroup
mounts, cap_last_cap, and whether mkswap and criu are installed (and whether
``criu check`` accepts this kernel). The two intrusive probes are included:
this is the reference host kind, and both undo what they change (the swapfile
is swapped off and removed, the borrowed host pid is released).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from probes.engine import catalogue, kconfig, runner
from probes.engine.results import ProbeResult, Status

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="these probes need root")

ITEMS = {
    "cr.mem.soft_dirty": "memory-cr",
    "cr.mem.pagemap_scan_wp_async": "memory-cr",
    "cr.mem.userfaultfd": "memory-cr",
    "cr.mem.process_vm_rw": "memory-cr",
    "cr.mem.map_files": "memory-cr",
    "cr.mem.pr_set_mm_map": "memory-cr",
    "cr.swap.memsw_v1": "per-container-swapfile",
    "cr.swap.v2_swap_max": "per-container-swapfile",
    "cr.ckpt.cgroup2_freeze": "checkpoint-strategy",
    "cr.ckpt.ptrace_seize": "checkpoint-strategy",
    "cr.ckpt.kcmp": "checkpoint-strategy",
    "cr.ckpt.pidfd_getfd": "checkpoint-strategy",
    "cr.ckpt.tcp_repair": "checkpoint-strategy",
    "cr.ckpt.cap_checkpoint_restore": "checkpoint-strategy",
    "cr.full.criu_dump_restore": "checkpoint-strategy",
    "cr.restart.ns_last_pid": "restart-strategy",
    "cr.restart.clone3_set_tid": "restart-strategy",
    "cr.restart.timens_restore": "restart-strategy",
}
INTRUSIVE = {"cr.swap.memsw_v1", "cr.swap.v2_swap_max", "cr.restart.clone3_set_tid"}
# The namespace each probe creates, by the /proc/sys/user limit that can switch it off.
NAMESPACE_LIMIT = {
    "cr.ckpt.tcp_repair": "max_net_namespaces",
    "cr.ckpt.cap_checkpoint_restore": "max_pid_namespaces",
    "cr.restart.ns_last_pid": "max_pid_namespaces",
    "cr.restart.clone3_set_tid": "max_pid_namespaces",
    "cr.restart.timens_restore": "max_time_namespaces",
}


# -- host facts ---------------------------------------------------------------------------------


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _config_off(config: kconfig.KernelConfig, *names: str) -> bool:
    return config.source is not None and any(name not in config.options for name in names)


def _hierarchy(controller: str) -> int | None:
    """The /proc/cgroups hierarchy id of an enabled controller (None: absent)."""
    for line in (_read("/proc/cgroups") or "").splitlines():
        parts = line.split()
        if parts and not line.startswith("#") and parts[0] == controller and parts[3] == "1":
            return int(parts[1])
    return None


def _cgroup_mounts() -> list[tuple[str, str, str, set[str]]]:
    """(mount point, root, fstype, super options) of every cgroup mount."""
    found = []
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        left, _, right = line.partition(" - ")
        fstype, _, options = right.split()[:3]
        if fstype in ("cgroup", "cgroup2"):
            fields = left.split()
            found.append((fields[4], fields[3], fstype, set(options.split(","))))
    return found


def _own_memory_v1_dir() -> str | None:
    path = next(
        (
            line.split(":", 2)[2]
            for line in (_read("/proc/self/cgroup") or "").splitlines()
            if "memory" in line.split(":")[1].split(",")
        ),
        None,
    )
    if path is None:
        return None
    for point, root, fstype, options in _cgroup_mounts():
        inside = path == root or path.startswith(root.rstrip("/") + "/")
        if fstype == "cgroup" and "memory" in options and inside:
            return os.path.normpath(point + "/" + path[len(root.rstrip("/")) :])
    return None


def _cgroup2_root() -> str | None:
    return next((point for point, _, fstype, _ in _cgroup_mounts() if fstype == "cgroup2"), None)


def _tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")


def _criu_status() -> Status:
    criu = _tool("criu")
    if criu is None:
        return Status.SKIPPED
    check = subprocess.run([criu, "check"], capture_output=True, timeout=60)
    return Status.PASS if check.returncode == 0 else Status.SKIPPED


def expected_status(probe_id: str, config: kconfig.KernelConfig) -> Status:
    """What this host should answer, from its own facts."""
    declared = catalogue.CATALOGUE[probe_id]
    if probe_id == "cr.full.criu_dump_restore":
        return _criu_status()
    if _version(os.uname().release) < _version(declared.since):
        return Status.UNSUPPORTED
    if probe_id == "cr.mem.soft_dirty":
        return Status.UNSUPPORTED if _config_off(config, "CONFIG_MEM_SOFT_DIRTY") else Status.PASS
    if probe_id == "cr.swap.memsw_v1":
        memory = _own_memory_v1_dir()
        if not _hierarchy("memory") or memory is None:
            return Status.UNSUPPORTED
        if not os.path.exists(os.path.join(memory, "memory.memsw.limit_in_bytes")):
            return Status.UNSUPPORTED
        return Status.PASS if _tool("mkswap") else Status.SKIPPED
    if probe_id == "cr.swap.v2_swap_max":
        root = _cgroup2_root()
        if _hierarchy("memory") != 0 or root is None:
            return Status.UNSUPPORTED  # absent, or bound to a v1 hierarchy
        offered = (_read(os.path.join(root, "cgroup.controllers")) or "").split()
        return Status.PASS if "memory" in offered else Status.UNSUPPORTED
    if probe_id == "cr.ckpt.cgroup2_freeze":
        return Status.PASS if _cgroup2_root() else Status.UNSUPPORTED
    last_cap = int(_read("/proc/sys/kernel/cap_last_cap") or 0)
    if probe_id == "cr.ckpt.cap_checkpoint_restore" and last_cap < 40:
        return Status.UNSUPPORTED
    # Options that only explain a failure elsewhere are not requirements here.
    needed = [c for c in declared.config if c not in ("CONFIG_MEMCG_SWAP", "CONFIG_NAMESPACES")]
    if probe_id == "cr.ckpt.kcmp":
        needed = ["CONFIG_KCMP"]
    if _config_off(config, *needed):
        return Status.UNSUPPORTED
    limit = NAMESPACE_LIMIT.get(probe_id)
    if limit and _read(f"/proc/sys/user/{limit}") == "0":
        return Status.DISABLED
    return Status.PASS


def _swaps() -> set[str]:
    """Swap area names: the usage columns of an existing area change all the time."""
    return {line.split()[0] for line in (_read("/proc/swaps") or "").splitlines()[1:] if line}


def _dead_owner(name: str) -> bool:
    match = re.search(r"_(\d+)$", name)
    return not (match and os.path.exists(f"/proc/{match.group(1)}"))


# -- one batched run ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def host_config() -> kconfig.KernelConfig:
    return kconfig.read()


@pytest.fixture(scope="module")
def swaps_before() -> set[str]:
    return _swaps()


@pytest.fixture(scope="module")
def results(host_config: kconfig.KernelConfig, swaps_before: set[str]) -> dict[str, ProbeResult]:
    catalogue.load()
    chosen = catalogue.select(["cr.*"], intrusive=True)
    return {r.probe_id: r for r in runner.run(chosen, jobs=2, kernel_config=host_config)}


def test_it_declares_the_eighteen_probes_under_their_items() -> None:
    catalogue.load()
    declared = {pid for pid in catalogue.CATALOGUE if pid.startswith("cr.")}
    assert declared == set(ITEMS)
    for probe_id, item in ITEMS.items():
        probe = catalogue.CATALOGUE[probe_id]
        assert probe.item == item
        assert probe.intrusive == (probe_id in INTRUSIVE), probe_id
        assert not probe.exclusive
        assert probe.timeout >= 5.0
        assert probe.func.__doc__ and "Pass" in probe.func.__doc__


@pytest.mark.parametrize("probe_id", sorted(ITEMS))
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


def test_it_names_the_v1_hierarchy_holding_memory(results: dict[str, ProbeResult]) -> None:
    hierarchy = _hierarchy("memory")
    if not hierarchy:
        pytest.skip("memory is not bound to a v1 hierarchy here")
    detail = results["cr.swap.v2_swap_max"].detail
    assert detail.endswith(f"bound to cgroup v1 hierarchy {hierarchy}")


def test_it_sees_the_effects_it_promises(results: dict[str, ProbeResult]) -> None:
    checks = {
        "cr.mem.pagemap_scan_wp_async": lambda e: e["written"] == [[1, 2], [5, 6]],
        "cr.mem.userfaultfd": lambda e: (
            e["event"] == "0x12" and e["reader_got"] == "UFFD-RESTORED!!!"
        ),
        "cr.mem.pr_set_mm_map": lambda e: e["map_size"] == 104,
        "cr.swap.memsw_v1": lambda e: (
            e["second_step_end"] == "killed by SIGKILL" and e["swaps_restored"]
        ),
        "cr.ckpt.cgroup2_freeze": lambda e: e["counter_frozen"][0] == e["counter_frozen"][1],
        "cr.ckpt.ptrace_seize": lambda e: e["stop_event"] == 128,
        "cr.ckpt.kcmp": lambda e: e["dup"] == 0 and e["inherited"] == 0 and e["vm"] != 0,
        "cr.ckpt.pidfd_getfd": lambda e: e["end"] == "killed by SIGTERM",
        "cr.ckpt.tcp_repair": lambda e: not e["peer_saw_close"] and e["reply"] == "reply",
        "cr.ckpt.cap_checkpoint_restore": lambda e: e["without"]["clone3_set_tid"] == "EPERM",
        "cr.restart.ns_last_pid": lambda e: e["pids"] == [100, 5000],
        "cr.restart.clone3_set_tid": lambda e: (
            e["host_pid"] == e["wanted"] and e["inside"]["inner"] == 4242
        ),
        "cr.restart.timens_restore": lambda e: e["too_negative"] == "ERANGE",
    }
    for probe_id, check in checks.items():
        result = results[probe_id]
        if result.status is Status.PASS:
            assert check(result.evidence), (probe_id, result.evidence)


def test_it_says_why_criu_could_not_run(results: dict[str, ProbeResult]) -> None:
    result = results["cr.full.criu_dump_restore"]
    if result.status is not Status.SKIPPED:
        pytest.skip(f"criu ran: {result.status}")
    if _tool("criu") is None:
        assert "not installed" in result.detail
    else:
        assert result.evidence["version"] and result.evidence["check_rc"] != 0
        assert result.evidence["check_output"]


def test_it_leaves_nothing_behind(results: dict[str, ProbeResult], swaps_before: set[str]) -> None:
    tags = tuple(f"probe_{probe_id.replace('.', '_')}" for probe_id in ITEMS)
    assert not [n for n in os.listdir("/tmp") if n.startswith(tags) and _dead_owner(n)]
    assert not [name for name in _swaps() - swaps_before if name.startswith("/tmp/probe_cr_")]
    assert swaps_before <= _swaps()
    for point, _, _, _ in _cgroup_mounts():
        for directory, _, _ in os.walk(point):
            name = os.path.basename(directory)
            assert not (name.startswith(tags) and _dead_owner(name)), directory
