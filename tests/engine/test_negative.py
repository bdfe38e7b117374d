"""Switch features off and see the probes notice (catalogue section 6).

Namespace limits: root here lacks CAP_SYS_RESOURCE and may not write the
host's /proc/sys/user/max_*_namespaces, and must not anyway. The limits are
hierarchical, so the whole run happens inside a user namespace mapping
every uid and gid 1:1 ("0 0 4294967295"); its root sets ONE limit to 0 in
that namespace's own copy and runs the default catalogue. A control run in
the same kind of namespace without the limit is the reference: exactly the
probes that need that namespace type change, and they change to
``disabled``.

Privilege: the run drops to uid/gid 65534 with no supplementary groups and
no capabilities (bounding set emptied, as ``setpriv --bounding-set=-all``);
probes declared ``needs_root`` that passed as root report ``denied`` (or
``disabled`` where a policy knob such as ``vm.unprivileged_userfaultfd=0``
is what refuses unprivileged callers: catalogue section 1), and those that
need no root still pass.

The tests are written over whatever the catalogue holds; the few probe ids
named below are the catalogue's own examples and are only checked when
present.
"""

from __future__ import annotations

import errno
import os
from typing import Any

import pytest

from probes.engine import catalogue, runner
from probes.engine.process import Child, Gate
from probes.engine.syscalls import CLONE_NEWUSER, PR_SET_DUMPABLE, prctl, unshare

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mapping a full-range userns needs root")

RUN_TIMEOUT = 300.0
NOBODY = 65534
PR_CAPBSET_DROP = 24

# The catalogue's section 6 examples: each limit must at least switch these off.
LIMITS = {
    "max_user_namespaces": {"ns.user.root_mapped", "keys.userns.keyring_names"},
    "max_net_namespaces": {"ns.net.isolation"},
    "max_time_namespaces": {"ns.time.offsets", "cr.restart.timens_restore"},
    "max_pid_namespaces": {"ns.pid.isolation"},
}
# ... and these still pass as uid 65534 with no capabilities.
STILL_PASS_UNPRIVILEGED = {
    "ns.user.unprivileged",
    "ns.user.capability_scope",
    "ns.user.per_userns_limits",
    "keys.basic",
    "cr.mem.process_vm_rw",
    "cr.mem.pr_set_mm_map",
    "cr.ckpt.ptrace_seize",
    "cr.ckpt.kcmp",
    "cr.ckpt.pidfd_getfd",
}


# Policy knobs and the value that switches the unprivileged use of a feature off: EPERM
# with such a knob set is `disabled`, not `denied` (catalogue section 1).
POLICY_OFF = {
    "vm.unprivileged_userfaultfd": "0",
    "kernel.unprivileged_userns_clone": "0",
    "kernel.apparmor_restrict_unprivileged_userns": "1",
}


def _policy_switched_off(said: str) -> bool:
    """Whether ``said`` blames a policy knob that is really set to "off" on this host."""
    for name, off in POLICY_OFF.items():
        try:
            with open("/proc/sys/" + name.replace(".", "/")) as f:
                value = f.read().strip()
        except OSError:
            continue
        if name in said and value == off:
            return True
    return False


def _said(run: dict[str, Any], probe_id: str) -> str:
    return f"{run['detail'][probe_id]} {run['evidence'][probe_id]}"


def _refused(run: dict[str, Any], probe_id: str) -> bool:
    """denied, or disabled by a policy knob that only lets privileged callers in."""
    status = run["status"][probe_id]
    return status == "denied" or (
        status == "disabled" and _policy_switched_off(_said(run, probe_id))
    )


def _summary(results: runner.RunResults) -> dict[str, Any]:
    return {
        "status": {r.probe_id: r.status.value for r in results},
        "detail": {r.probe_id: r.detail for r in results},
        "evidence": {r.probe_id: r.evidence for r in results},
    }


def _run_default_catalogue() -> dict[str, Any]:
    return _summary(runner.run(catalogue.select(), jobs=2))


def run_in_user_namespace(limit: str | None) -> dict[str, Any]:
    """The default catalogue, run by the root of a full-range user namespace.

    With ``limit``, that namespace's /proc/sys/user/<limit> is 0 during the run.
    """
    unshared, mapped = Gate(), Gate()

    def body() -> dict[str, Any]:
        unshare(CLONE_NEWUSER)  # pytest's child is single-threaded: fork copies one thread
        unshared.open()
        mapped.wait(10)
        if limit is not None:
            with open(f"/proc/sys/user/{limit}", "w") as f:
                f.write("0")  # this namespace's copy; the host's stays as it is
        return _run_default_catalogue()

    child = Child(body)
    try:
        unshared.wait(10)
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{child.pid}/{name}", "w") as f:
                f.write("0 0 4294967295")
        mapped.open()
        return child.result(RUN_TIMEOUT)
    finally:
        child.finish()
        unshared.close()
        mapped.close()


def run_as_nobody() -> dict[str, Any]:
    def body() -> dict[str, Any]:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
        for cap in range(last + 1):  # as `setpriv --bounding-set=-all`
            prctl(PR_CAPBSET_DROP, cap)
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)  # clears the permitted and effective sets
        prctl(PR_SET_DUMPABLE, 1)  # as after an execve: /proc/self/*_map stay ours
        return _run_default_catalogue()

    child = Child(body)
    try:
        return child.result(RUN_TIMEOUT)
    finally:
        child.finish()


def run_as_root() -> dict[str, Any]:
    child = Child(_run_default_catalogue)
    try:
        return child.result(RUN_TIMEOUT)
    finally:
        child.finish()


def _host_limits() -> dict[str, str]:
    limits = {}
    for name in sorted(os.listdir("/proc/sys/user")):
        with open(f"/proc/sys/user/{name}") as f:
            limits[name] = f.read()
    return limits


def _explain(runs: dict[str, Any], ids: list[str]) -> str:
    return "; ".join(f"{i}: {runs['status'][i]} ({runs['detail'][i]})" for i in ids)


@pytest.fixture(scope="module")
def host_limits() -> dict[str, str]:
    return _host_limits()


@pytest.fixture(scope="module")
def control() -> dict[str, Any]:
    catalogue.load()
    first, second = run_in_user_namespace(None), run_in_user_namespace(None)
    unstable = [i for i in first["status"] if first["status"][i] != second["status"][i]]
    assert unstable == [], "the control run itself is not repeatable: " + _explain(second, unstable)
    return first


@pytest.mark.parametrize("limit", sorted(LIMITS))
def test_a_zero_namespace_limit_turns_exactly_the_affected_probes_disabled(
    control, host_limits, limit
):
    limited = run_in_user_namespace(limit)
    assert _host_limits() == host_limits  # the host's limits were never touched

    changed = sorted(i for i in control["status"] if limited["status"][i] != control["status"][i])
    assert changed, f"no probe noticed {limit} = 0"
    not_disabled = [i for i in changed if limited["status"][i] != "disabled"]
    assert not_disabled == [], "changed, but not to disabled: " + _explain(limited, not_disabled)
    # `disabled` must come from the limit itself (ENOSPC from the kernel's ucounts),
    # not from anything else that happened to change between the two runs.
    for probe_id in changed:
        said = _said(limited, probe_id)
        assert any(sign in said for sign in ("ENOSPC", os.strerror(errno.ENOSPC), limit)), (
            f"{probe_id}: {said}"
        )
    expected = {i for i in LIMITS[limit] if control["status"].get(i) == "pass"}
    assert expected <= set(changed), f"{sorted(expected - set(changed))} did not notice {limit}"


def test_control_runs_in_a_user_namespace_pass_what_they_pass_on_the_host(control):
    host = run_as_root()
    # Inside a user namespace some probes are refused what only the initial namespace
    # may do (device access rules, idmapped mounts, capabilities checked against the
    # initial namespace): those become denied, or disabled by a policy knob.
    different = [i for i in host["status"] if control["status"][i] != host["status"][i]]
    not_refused = [i for i in different if not _refused(control, i)]
    assert not_refused == [], _explain(control, not_refused)


@pytest.fixture(scope="module")
def privileged_and_unprivileged() -> tuple[dict[str, Any], dict[str, Any]]:
    catalogue.load()
    return run_as_root(), run_as_nobody()


def test_an_unprivileged_run_is_denied_what_needs_privilege(privileged_and_unprivileged):
    root, nobody = privileged_and_unprivileged
    probes = catalogue.load()
    needing_root = [
        i for i in root["status"] if probes[i].needs_root and root["status"][i] == "pass"
    ]
    assert needing_root
    not_refused = [i for i in needing_root if not _refused(nobody, i)]
    assert not_refused == [], "needs root, yet not denied as uid 65534: " + _explain(
        nobody, not_refused
    )


def test_an_unprivileged_run_still_passes_what_needs_no_privilege(privileged_and_unprivileged):
    root, nobody = privileged_and_unprivileged
    probes = catalogue.load()
    free = [i for i in root["status"] if not probes[i].needs_root and root["status"][i] == "pass"]
    assert free
    not_passing = [i for i in free if nobody["status"][i] != "pass"]
    assert not_passing == [], "needs no root, yet fails as uid 65534: " + _explain(
        nobody, not_passing
    )
    listed = {i for i in STILL_PASS_UNPRIVILEGED if root["status"].get(i) == "pass"}
    assert {i for i in listed if nobody["status"][i] != "pass"} == set()


def test_an_unprivileged_run_breaks_nothing(privileged_and_unprivileged):
    _, nobody = privileged_and_unprivileged
    broken = [i for i, s in nobody["status"].items() if s in ("error", "timeout")]
    assert broken == [], _explain(nobody, broken)
