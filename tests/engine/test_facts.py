"""Host facts, each checked against what the host shows through another way of looking."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess

import psutil
import pytest

from probes.engine import facts, kconfig


@pytest.fixture(scope="module")
def host() -> dict:
    return facts.collect()


def test_it_is_plain_json(host):
    assert json.loads(json.dumps(host)) == host


@pytest.mark.parametrize(
    ("release", "version"),
    [
        ("6.18.44-fc-v669", (6, 18, 44)),
        ("5.15.0-91-generic", (5, 15, 0)),
        ("6.1-rc2", (6, 1, 0)),
        ("4.19.0+", (4, 19, 0)),
        ("3.10.0-1160.el7.x86_64", (3, 10, 0)),
        ("not-a-kernel", ()),
    ],
)
def test_kernel_versions_parse_to_three_numbers(release, version):
    assert facts.parse_kernel_version(release) == version


def test_it_names_this_host_and_kernel(host):
    uname = os.uname()
    assert host["hostname"] == socket.gethostname()
    assert host["kernel"]["release"] == uname.release
    assert tuple(host["kernel"]["version"]) == facts.parse_kernel_version(uname.release)
    assert host["architecture"] == uname.machine == platform.machine()


def test_distribution_comes_from_os_release(host, tmp_path):
    if not os.path.exists("/etc/os-release"):
        assert host["distribution"] is None
    else:
        with open("/etc/os-release") as f:
            match = re.search(r"^ID=\"?([^\"\n]+)", f.read(), re.MULTILINE)
        assert host["distribution"]["id"] == (match.group(1) if match else None)
    fake = tmp_path / "os-release"
    fake.write_text('NAME="Example"\nID=example\nVERSION_ID="1.2"\n# comment\n')
    assert facts.distribution(str(fake)) == {
        "id": "example",
        "name": "Example",
        "version_id": "1.2",
    }
    assert facts.distribution(str(tmp_path / "missing")) is None


def test_cpus_and_memory_come_from_psutil(host):
    assert host["cpus"]["logical"] == psutil.cpu_count()
    assert host["cpus"]["usable"] == len(os.sched_getaffinity(0))
    assert host["memory"]["total_bytes"] == psutil.virtual_memory().total
    assert host["memory"]["swap_total_bytes"] == psutil.swap_memory().total


def _cgroup_mounts() -> tuple[dict[str, str], str | None]:
    v1, v2 = {}, None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            point, (fstype, _, options) = left.split()[4], right.split()[:3]
            if fstype == "cgroup2" and v2 is None:
                v2 = point
            elif fstype == "cgroup":
                for option in options.split(","):
                    v1.setdefault(option, point)
    return v1, v2


def test_the_cgroup_layout_matches_proc_cgroups_and_the_mounts(host):
    cgroups = host["cgroups"]
    v1_mounts, v2_mount = _cgroup_mounts()
    with open("/proc/cgroups") as f:
        rows = [line.split() for line in f if not line.startswith("#")]
    assert set(cgroups["v1"]) == {row[0] for row in rows}
    for name, hierarchy, _, enabled in rows:
        fact = cgroups["v1"][name]
        assert fact["hierarchy"] == int(hierarchy)
        assert fact["enabled"] == (enabled == "1")
        assert fact["mount"] == (v1_mounts.get(name) if int(hierarchy) else None)
    if v2_mount is None:
        assert cgroups["v2"] is None
    else:
        with open(os.path.join(v2_mount, "cgroup.controllers")) as f:
            assert cgroups["v2"] == {"mount": v2_mount, "controllers": f.read().split()}
    bound = any(row[1] != "0" for row in rows)
    expected = {
        (True, True): "hybrid",
        (False, True): "unified",
        (True, False): "legacy",
        (False, False): "none",
    }[(bound, v2_mount is not None)]
    assert cgroups["layout"] == expected
    with open("/proc/self/cgroup") as f:
        named = {m.group(1) for m in re.finditer(r":name=([^:,]+)", f.read())}
    assert set(cgroups["v1_named"]) == named


def test_privilege_comes_from_the_process_status(host):
    with open("/proc/self/status") as f:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    privilege = host["privilege"]
    assert privilege["euid"] == os.geteuid()
    assert privilege["root"] == (os.geteuid() == 0)
    assert privilege["cap_effective"] == status["CapEff"].strip()
    effective = int(status["CapEff"], 16)
    for name in privilege["missing_effective"]:
        assert not effective & (1 << facts.CAPABILITIES.index(name.removeprefix("cap_")))
    if effective & (1 << 24) == 0:  # the reference host's quirk: no CAP_SYS_RESOURCE
        assert "cap_sys_resource" in privilege["missing_effective"]


def test_every_namespace_limit_is_reported(host):
    names = [n for n in os.listdir("/proc/sys/user") if n.endswith("_namespaces")]
    assert set(host["namespace_limits"]) == set(names)
    for name in names:
        with open(f"/proc/sys/user/{name}") as f:
            assert host["namespace_limits"][name] == int(f.read())
    assert "max_user_namespaces" in host["namespace_limits"]


def test_tool_versions_are_what_the_tools_say_or_none(host):
    for name in ("unshare", "nsenter", "lsns", "criu"):
        path = shutil.which(name)
        if path is None:
            assert host["tools"][name] is None
            continue
        out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
        assert host["tools"][name] is not None
        assert host["tools"][name] in out


def test_it_says_where_the_kernel_config_came_from(host):
    assert host["kernel_config"] == {"source": kconfig.read().source}
    given = kconfig.KernelConfig("/somewhere/else")
    assert facts.collect(given)["kernel_config"]["source"] == "/somewhere/else"
