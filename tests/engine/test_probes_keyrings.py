"""The keyring probes (catalogue section 3), run for real through the runner.

Expected statuses come from this host's own facts, read here without the code
under test: the kernel release against each probe's ``since``, the kernel
config when readable, and the user-namespace limit. The user-namespace probes
need root (they write foreign id maps) and are left out for other users.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from probes.engine import catalogue, kconfig, runner
from probes.engine.results import ProbeResult, Status

BASIC = "keys.basic"
USERNS = {
    "keys.userns.keyring_names",
    "keys.userns.user_keyring",
    "keys.userns.permission",
    "keys.userns.persistent",
}
IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="the user-namespace key probes need root")


# -- host facts ---------------------------------------------------------------------------------


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _config_off(config: kconfig.KernelConfig, names: tuple[str, ...]) -> bool:
    return config.source is not None and any(name not in config.options for name in names)


def expected_status(probe_id: str, config: kconfig.KernelConfig) -> Status:
    declared = catalogue.CATALOGUE[probe_id]
    if _version(os.uname().release) < _version(declared.since):
        return Status.UNSUPPORTED
    if _config_off(config, declared.config) or not os.path.exists("/proc/keys"):
        return Status.UNSUPPORTED
    if probe_id in USERNS and _read("/proc/sys/user/max_user_namespaces") == "0":
        return Status.DISABLED
    return Status.PASS


def _key_lines() -> list[str]:
    with open("/proc/keys") as f:
        return f.read().splitlines()


def _dead_owner(description: str) -> bool:
    """Probe key descriptions end in the pid of the probe that made them."""
    match = re.search(r"[_:](\d+)$", description)
    return bool(match) and not os.path.exists(f"/proc/{match.group(1)}")


def _probe_keys_of_dead_probes() -> list[str]:
    leftovers = []
    for line in _key_lines():
        fields = line.split(None, 8)  # id flags usage timeout perm uid gid type "desc: data"
        description = fields[8].rsplit(": ", 1)[0] if len(fields) == 9 else ""
        if description.startswith(("probe:", "probe_keys_")) and _dead_owner(description):
            leftovers.append(line)
    return leftovers


# -- one batched run ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def host_config() -> kconfig.KernelConfig:
    return kconfig.read()


@pytest.fixture(scope="module")
def results(host_config: kconfig.KernelConfig) -> dict[str, ProbeResult]:
    catalogue.load()
    chosen = catalogue.select([BASIC, *(sorted(USERNS) if IS_ROOT else [])])
    return {r.probe_id: r for r in runner.run(chosen, jobs=2, kernel_config=host_config)}


def test_it_declares_the_five_keyring_probes() -> None:
    catalogue.load()
    declared = {pid for pid in catalogue.CATALOGUE if pid.startswith("keys.")}
    assert declared == {BASIC} | USERNS
    for probe_id in declared:
        probe = catalogue.CATALOGUE[probe_id]
        assert probe.item == "keyring-cross-userns"
        assert probe.needs_root == (probe_id != BASIC)
        assert not probe.intrusive and not probe.exclusive
        assert probe.timeout >= 5.0
        assert "CONFIG_KEYS" in probe.config
        assert probe.func.__doc__ and "Pass" in probe.func.__doc__


def test_it_adds_reads_and_lists_a_key(
    results: dict[str, ProbeResult], host_config: kconfig.KernelConfig
) -> None:
    result = results[BASIC]
    assert result.status is expected_status(BASIC, host_config), (result.detail, result.evidence)
    if result.status is Status.PASS:
        owner = str(os.geteuid())
        assert result.evidence["describe"].startswith(f"user;{owner};")
        assert result.evidence["proc_keys"].split()[0] == f"{result.evidence['key']:08x}"


@needs_root
@pytest.mark.parametrize("probe_id", sorted(USERNS))
def test_it_reports_what_this_host_does_across_user_namespaces(
    probe_id: str, results: dict[str, ProbeResult], host_config: kconfig.KernelConfig
) -> None:
    result = results[probe_id]
    assert result.status is expected_status(probe_id, host_config), (
        result.detail,
        result.evidence,
    )
    assert result.detail
    assert "cleanup_failed" not in result.evidence


@needs_root
def test_it_checks_permissions_by_kuid(results: dict[str, ProbeResult]) -> None:
    result = results["keys.userns.permission"]
    if result.status is not Status.PASS:
        pytest.skip(f"permission probe: {result.status}")
    evidence = result.evidence
    assert evidence["foreign_root"]["read_errno"] == "EACCES"
    assert evidence["foreign_root"]["uid_map"] == ["0", "100000", "65536"]
    assert "read" in evidence["same_kuid_root"]
    assert evidence["foreign_root_other_perm"]["describe"].startswith("user;65534;65534;")


@needs_root
def test_it_finds_separate_keyrings_per_user_namespace(results: dict[str, ProbeResult]) -> None:
    for probe_id in ("keys.userns.user_keyring", "keys.userns.persistent"):
        result = results[probe_id]
        if result.status is Status.PASS:
            first, second = result.evidence["first_userns"], result.evidence["second_userns"]
            assert first["id"] != second["id"]
            assert first["describe"].rsplit(";", 1)[1] == second["describe"].rsplit(";", 1)[1]


def test_it_leaves_no_key_behind(results: dict[str, ProbeResult]) -> None:
    # Keys die with the session keyrings of the probe processes; the kernel's key
    # garbage collector removes them shortly after (it is asynchronous).
    deadline = time.monotonic() + 5.0
    while _probe_keys_of_dead_probes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _probe_keys_of_dead_probes() == []
