"""The "completion of ongoing namespaces" probes, run for real through the runner.

Each probe's expected status is derived from what this host shows: the namespace types in
/proc/self/ns, the kernel release against the probe's ``since``, the kernel config (when
readable), the /proc/sys/user/max_*_namespaces limits and the presence of ``ip``.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from probes.engine import catalogue, kconfig, runner
from probes.engine.results import ProbeResult, Status

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="these probes need root")

# probe id -> (namespace types it needs, CONFIG_ options without which it cannot work)
NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ns.pid.isolation": (("pid",), ("CONFIG_PID_NS",)),
    "ns.pid.init_semantics": (("pid",), ("CONFIG_PID_NS",)),
    "ns.pid.proc_mount": (("pid", "mnt"), ("CONFIG_PID_NS",)),
    "ns.pid.nesting_limit": (("pid",), ("CONFIG_PID_NS",)),
    "ns.net.isolation": (("net",), ("CONFIG_NET_NS",)),
    "ns.net.port_isolation": (("net",), ("CONFIG_NET_NS",)),
    "ns.net.veth_pair": (("net",), ("CONFIG_NET_NS", "CONFIG_VETH")),
    "ns.uts.isolation": (("uts",), ("CONFIG_UTS_NS",)),
    "ns.ipc.isolation": (("ipc",), ("CONFIG_IPC_NS", "CONFIG_SYSVIPC")),
    "ns.mnt.isolation": (("mnt",), ()),
    "ns.mnt.propagation": (("mnt",), ()),
    "ns.mnt.new_mount_api": (("mnt",), ()),
    "ns.mnt.ro_bind": (("mnt",), ()),
    "ns.mnt.recursive_ro_mount_setattr": (("mnt",), ()),
}
ITEMS = {
    "pid-namespace": {
        "ns.pid.isolation",
        "ns.pid.init_semantics",
        "ns.pid.proc_mount",
        "ns.pid.nesting_limit",
    },
    "net-namespace": {"ns.net.isolation", "ns.net.port_isolation", "ns.net.veth_pair"},
    "ongoing-namespaces": {
        "ns.uts.isolation",
        "ns.ipc.isolation",
        "ns.mnt.isolation",
        "ns.mnt.propagation",
        "ns.mnt.new_mount_api",
    },
    "ro-bind-mounts": {"ns.mnt.ro_bind", "ns.mnt.recursive_ro_mount_setattr"},
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _limit(kind: str) -> int | None:
    try:
        with open(f"/proc/sys/user/max_{kind}_namespaces") as f:
            return int(f.read())
    except OSError:
        return None


def expected_status(probe_id: str, config: kconfig.KernelConfig) -> Status:
    """What this host should answer, from its own facts."""
    kinds, options = NEEDS[probe_id]
    declared = catalogue.CATALOGUE[probe_id]
    if any(not os.path.exists(f"/proc/self/ns/{kind}") for kind in kinds):
        return Status.UNSUPPORTED
    if _version(os.uname().release) < _version(declared.since):
        return Status.UNSUPPORTED
    if config.source is not None and any(name not in config.options for name in options):
        return Status.UNSUPPORTED
    if any(_limit(kind) == 0 for kind in kinds):
        return Status.DISABLED
    if probe_id == "ns.net.veth_pair" and shutil.which("ip") is None:
        return Status.SKIPPED
    return Status.PASS


@pytest.fixture(scope="module")
def host_config() -> kconfig.KernelConfig:
    return kconfig.read()


@pytest.fixture(scope="module")
def results(host_config: kconfig.KernelConfig) -> dict[str, ProbeResult]:
    catalogue.load()
    chosen = catalogue.select(sorted(NEEDS), intrusive=True)
    ran = runner.run(chosen, jobs=2, kernel_config=host_config)
    return {r.probe_id: r for r in ran}


def test_it_declares_the_fourteen_probes_under_their_items() -> None:
    catalogue.load()
    for item, ids in ITEMS.items():
        for probe_id in ids:
            declared = catalogue.CATALOGUE[probe_id]
            assert declared.item == item
            assert declared.needs_root
            assert not declared.intrusive
            assert not declared.exclusive
            assert declared.timeout >= 5.0
    assert set().union(*ITEMS.values()) == set(NEEDS)


@pytest.mark.parametrize("probe_id", sorted(NEEDS))
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


def test_it_observes_the_nesting_limit(results: dict[str, ProbeResult]) -> None:
    result = results["ns.pid.nesting_limit"]
    if result.status is not Status.PASS:
        pytest.skip(f"nesting limit not reachable here: {result.detail}")
    assert result.evidence["level"] == 32
    assert result.evidence["extra"] in ("ENOSPC", "EUSERS")
    if result.evidence["start_level"] == 0:
        assert result.evidence["nspid_entries"] == 33


def test_it_keeps_the_veth_pair_off_the_host(results: dict[str, ProbeResult]) -> None:
    result = results["ns.net.veth_pair"]
    if result.status is not Status.PASS:
        pytest.skip(result.detail)
    assert result.evidence["host_leaked"] == []
    assert result.evidence["b"]["peer"] == "10.213.0.1"


def test_it_leaves_nothing_behind(results: dict[str, ProbeResult]) -> None:
    tags = tuple(f"probe_{probe_id.replace('.', '_')}" for probe_id in NEEDS)
    assert not [name for name in os.listdir("/tmp") if name.startswith(tags)]
    with open("/proc/self/mountinfo") as f:
        assert not [line for line in f if any(f"/{tag}" in line for tag in tags)]
    with open("/proc/sysvipc/shm") as f:
        assert " 1347571522 " not in f.read()  # SHM_KEY, 0x50524F42
    with open("/proc/sys/kernel/hostname") as f:
        assert not f.read().startswith("probe-uts")
