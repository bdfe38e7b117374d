"""Run the whole default catalogue three times: the host must look the same before and after.

Compared: cgroup directories in every hierarchy, the mount table, child
processes and any process whose command line or cgroup mentions ``probe_``,
named network namespaces, keys, ``/tmp/probe_*``, swap areas, controller
bindings and ``vm.nr_hugepages``. The janitor must have had nothing to do
(it removes leftovers, so a finding is a leak), and no probe may report
that the runner failed to remove something it registered.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest

from probes.engine import catalogue, janitor, kconfig, runner

RUNS = 3

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the default suite needs root")


def _mounts() -> list[list[str]]:
    with open("/proc/self/mountinfo") as f:
        return [line.split() for line in f]


def cgroup_directories() -> set[str]:
    found = set()
    seen_devices = set()
    for fields in _mounts():
        fstype = fields[fields.index("-") + 1]
        if fstype not in ("cgroup", "cgroup2") or fields[2] in seen_devices:
            continue
        seen_devices.add(fields[2])
        for directory, _, _ in os.walk(fields[4]):
            if not (os.path.basename(directory).startswith("probe_") and _live(directory)):
                found.add(directory)
    return found


def mount_table() -> set[tuple[str, ...]]:
    # Mount ids change when something is remounted: compare what is mounted where.
    return {(f[4], f[3], f[f.index("-") + 1], f[f.index("-") + 2]) for f in _mounts()}


def children() -> set[int]:
    pids: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            pids.update(int(p) for p in f.read().split())
    return pids


def probe_processes() -> set[tuple[int, str]]:
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/cgroup") as f:
                cgroup = f.read()
        except OSError:
            continue  # exited while we looked
        if "/probe_" in cgroup or "/tmp/probe_" in cmdline:
            found.add((int(pid), cmdline.strip()))
    return found


def named_netns() -> str:
    if shutil.which("ip") is None:
        return "no ip(8)"
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def keys() -> set[tuple[str, ...]]:
    # id, type and description: usage counts and expiry columns move on their own.
    with open("/proc/keys") as f:
        return {(f[0], f[7], " ".join(f[8:]).split(":")[0]) for f in map(str.split, f)}


def tmp_entries() -> set[str]:
    return {n for n in os.listdir("/tmp") if n.startswith("probe_") and not _live(n)}


def _live(path: str) -> bool:
    """Owned by a probe running right now (another runner on this host): not a leftover."""
    return janitor.owner_alive(os.path.basename(path))


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def snapshot() -> dict[str, Any]:
    return {
        "cgroup directories": cgroup_directories(),
        "mounts": mount_table(),
        "child processes": children(),
        "probe processes": probe_processes(),
        "named network namespaces": named_netns(),
        "keys": keys(),
        "/tmp/probe_*": tmp_entries(),
        "swaps": _read("/proc/swaps"),
        "controller hierarchies": [
            line.split()[:2] for line in _read("/proc/cgroups").splitlines()
        ],
        "vm.nr_hugepages": _read("/proc/sys/vm/nr_hugepages"),
    }


def test_the_default_catalogue_leaves_the_host_as_it_found_it():
    catalogue.load()
    probes = catalogue.select()
    config = kconfig.read()
    before = snapshot()
    janitor_findings = []
    cleanup_failures = []
    for _ in range(RUNS):
        results = runner.run(probes, kernel_config=config)
        janitor_findings += results.janitor
        cleanup_failures += [
            (r.probe_id, r.evidence["cleanup_failed"])
            for r in results
            if "cleanup_failed" in r.evidence
        ]
    after = snapshot()

    assert janitor_findings == [], "the janitor had to remove leftovers"
    assert cleanup_failures == [], "the runner could not remove what probes registered"
    for what in before:
        if isinstance(before[what], set):
            appeared = sorted(after[what] - before[what])
            vanished = sorted(before[what] - after[what])
            assert (appeared, vanished) == ([], []), f"{what} changed"
        else:
            assert after[what] == before[what], f"{what} changed"


# -- the janitor, on leftovers made on purpose ------------------------------------------------

DEAD = 99_999_999  # above any pid_max: a name no live process can own


def _in_private_mount_ns(fn):
    from probes.engine.process import Child
    from probes.engine.syscalls import CLONE_NEWNS, make_mounts_private, unshare

    def body():
        unshare(CLONE_NEWNS)
        make_mounts_private()
        return fn()

    child = Child(body)
    try:
        return child.result(10)
    finally:
        child.finish()


def _own_v2_cgroup() -> str | None:
    for fields in _mounts():
        if fields[fields.index("-") + 1] == "cgroup2":
            with open("/proc/self/cgroup") as f:
                path = next(line.split(":", 2)[2].strip() for line in f if line.startswith("0::"))
            return os.path.join(fields[4], path.lstrip("/"))
    return None


def test_the_janitor_removes_dirs_mounts_and_cgroups_of_dead_probes():
    from probes.engine.syscalls import mount

    scratch = f"/tmp/probe_test_janitor_{DEAD}"
    os.makedirs(os.path.join(scratch, "m"))
    mount("tmpfs", os.path.join(scratch, "m"), "tmpfs", 0, "size=1m")
    cgroups = []
    v2 = _own_v2_cgroup()
    if v2 is not None:
        cgroups.append(os.path.join(v2, f"probe_test_janitor_{DEAD}"))
        os.makedirs(os.path.join(cgroups[-1], "nested"))
    found = janitor.sweep()
    assert {f["what"] for f in found} == {scratch, *cgroups}
    assert all(f["fixed"] for f in found)
    assert not os.path.exists(scratch)
    assert not any(os.path.exists(c) for c in cgroups)
    assert scratch not in _read("/proc/self/mountinfo")


def _named(name: str) -> bool:
    return f"name={name}:" in _read("/proc/self/cgroup")


def test_the_janitor_destroys_a_lingering_named_v1_hierarchy():
    name = f"probe{DEAD}"
    point = f"/tmp/probe_test_named_{DEAD}"
    os.makedirs(point)

    def linger():
        from probes.engine.syscalls import mount

        mount("cgroup", point, "cgroup", 0, f"none,name={name}")
        os.mkdir(os.path.join(point, "child"))  # a child keeps it alive after the umount
        return True

    try:
        _in_private_mount_ns(linger)  # the mount dies with the namespace; the hierarchy stays
    except OSError as err:
        os.rmdir(point)
        pytest.skip(f"cannot mount a named v1 hierarchy here: {err}")
    os.rmdir(point)
    assert _named(name)
    found = janitor.sweep()
    assert [f for f in found if f["kind"] == "v1-hierarchy"] == [
        {
            "kind": "v1-hierarchy",
            "what": f"name={name}",
            "fixed": True,
            "detail": "lingering v1 hierarchy remounted and unmounted",
        }
    ]
    assert not _named(name)


def test_the_janitor_releases_a_controller_a_run_left_bound_to_v1():
    from probes.engine.facts import parse_kernel_version

    hierarchies = {row[0]: row[1] for row in map(str.split, _read("/proc/cgroups").splitlines())}
    if hierarchies.get("net_cls") != "0":
        pytest.skip("net_cls is absent or already bound here")
    if parse_kernel_version(os.uname().release) < (5, 15, 0):
        pytest.skip("binding net_cls before 5.15 disables cgroup2 socket matching until reboot")
    before = janitor.baseline()
    point = f"/tmp/probe_test_netcls_{DEAD}"
    os.makedirs(point)

    def bind():
        from probes.engine.syscalls import mount

        mount("cgroup", point, "cgroup", 0, "net_cls")
        os.mkdir(os.path.join(point, f"probe_left_{DEAD}"))
        return True

    _in_private_mount_ns(bind)
    os.rmdir(point)
    assert [
        r[1] for r in map(str.split, _read("/proc/cgroups").splitlines()) if r[0] == "net_cls"
    ] != ["0"]
    found = janitor.sweep(before)
    assert [(f["kind"], f["what"], f["fixed"]) for f in found] == [
        ("v1-hierarchy", "net_cls", True)
    ]
    assert [
        r[1] for r in map(str.split, _read("/proc/cgroups").splitlines()) if r[0] == "net_cls"
    ] == ["0"]
