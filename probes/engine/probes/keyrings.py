"""Keyring probes (catalogue section 3): the kernel key retention service and
how keys, keyring names, user keyrings and persistent keyrings behave across
user namespaces (roadmap item "in-kernel keyrings for cross-user-namespace
permissions").

Every probe first joins a fresh anonymous session keyring, so each key it
adds lives only in that keyring and dies with the probe's processes. User
namespaces are created in forked children (the parent writes their id maps);
an ENOSPC there (``user.max_user_namespaces`` = 0) travels back to the parent
and makes the probe ``disabled``. ``KEYCTL_GET_PERSISTENT`` is only ever
called inside a throwaway user namespace: in the initial one it would create
a host keyring that outlives the probe for days.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Callable
from typing import Any

from ..catalogue import probe
from ..context import ProbeContext
from ..process import Child, Gate
from ..syscalls import CLONE_NEWUSER, syscall, unshare
from ..verdicts import Verdict, disabled, errno_name, failed, introducing, passed, unsupported

ITEM = "keyring-cross-userns"

# keyctl(2) operations
KEYCTL_GET_KEYRING_ID = 0
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_SETPERM = 5
KEYCTL_DESCRIBE = 6
KEYCTL_READ = 11
KEYCTL_INVALIDATE = 21
KEYCTL_GET_PERSISTENT = 22
KEYCTL_CAPABILITIES = 31

# special keyring ids
KEY_SPEC_SESSION_KEYRING = -3
KEY_SPEC_USER_KEYRING = -4

# permission bits: possessor / user / other
KEY_POS_ALL = 0x3F000000
KEY_USR_ALL = 0x003F0000
KEY_OTH_VIEW = 0x00000001
KEY_OTH_READ = 0x00000002

# KEYCTL_CAPABILITIES byte 1 (5.3)
KEYCTL_CAPS1_NS_KEYRING_NAME = 0x01
KEYCTL_CAPS1_NS_KEY_TAG = 0x02

OVERFLOW_ID = 65534  # what an unmapped owner looks like inside a user namespace
IDENTITY_ROOT_MAP = "0 0 1"  # ns-root is host root: the same kuid as the probe
FOREIGN_MAP = "0 100000 65536"  # ns-root is kuid 100000: a different user to the kernel


# --- keyctl wrappers -------------------------------------------------------------


def keyctl(op: int, *args: object) -> int:
    return syscall("keyctl", op, *args)


def add_key(key_type: str, description: str, payload: bytes, ring: int) -> int:
    return syscall("add_key", key_type, description, payload, len(payload), ring)


def join_session(name: str | None = None) -> int:
    """Join (or create) a named session keyring; ``None`` joins a fresh anonymous one."""
    return keyctl(KEYCTL_JOIN_SESSION_KEYRING, name)


def _read_sized(op: int, key: int) -> bytes:
    """DESCRIBE and READ return the size they need; call again when the buffer was short."""
    size = 256
    while True:
        buf = ctypes.create_string_buffer(size)
        needed = keyctl(op, key, buf, size)
        if needed <= size:
            return buf.raw[:needed]
        size = needed


def key_describe(key: int) -> str:
    """``type;uid;gid;perm;description`` as the caller's user namespace sees it."""
    return _read_sized(KEYCTL_DESCRIBE, key).rstrip(b"\0").decode()


def key_read(key: int) -> bytes:
    return _read_sized(KEYCTL_READ, key)


def listed_in_proc_keys(key: int) -> str | None:
    """The /proc/keys line of ``key`` (ids are printed as 8 hex digits), if shown."""
    wanted = f"{key:08x}"
    with open("/proc/keys") as f:
        for line in f:
            if line.split(None, 1)[0] == wanted:
                return line.rstrip("\n")
    return None


def keyring_capabilities() -> bytes | None:
    """KEYCTL_CAPABILITIES (5.3); None when the kernel does not know the operation."""
    caps = ctypes.create_string_buffer(2)
    try:
        got = keyctl(KEYCTL_CAPABILITIES, caps, 2)
    except OSError as err:
        if err.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            return None
        raise
    return caps.raw[: min(got, 2)]


def names_are_namespaced() -> bool:
    """Whether the kernel says keyring names are per user namespace (5.3, with user
    keyrings moving to the user namespace in the same series)."""
    caps = keyring_capabilities()
    return caps is not None and len(caps) >= 2 and bool(caps[1] & KEYCTL_CAPS1_NS_KEYRING_NAME)


def fresh_session() -> int:
    """Join a new anonymous session keyring: everything added later dies with us."""
    with introducing("keyctl(KEYCTL_JOIN_SESSION_KEYRING)"):
        return join_session(None)


# --- user namespaces -------------------------------------------------------------


def _read_sysctl(name: str) -> str | None:
    try:
        with open(f"/proc/sys/{name}") as f:
            return f.read().strip()
    except OSError:
        return None


def _unshare_user() -> None:
    """unshare(CLONE_NEWUSER) with the errno turned into the right verdict."""
    try:
        unshare(CLONE_NEWUSER)
    except OSError as err:
        code = err.errno
        if code in (errno.EINVAL, errno.ENOSYS):
            raise unsupported(
                f"unshare(CLONE_NEWUSER) is not known to this kernel ({errno_name(err)})",
                errno=errno_name(err),
            ) from err
        if code in (errno.ENOSPC, errno.EUSERS):
            limit = _read_sysctl("user/max_user_namespaces")
            raise disabled(
                f"unshare(CLONE_NEWUSER) failed with {errno_name(err)}: "
                f"user namespace limit reached (user.max_user_namespaces={limit})",
                errno=errno_name(err),
                max_user_namespaces=limit,
            ) from err
        if code == errno.EPERM and _read_sysctl("kernel/unprivileged_userns_clone") == "0":
            raise disabled(
                "unshare(CLONE_NEWUSER) EPERM with kernel.unprivileged_userns_clone=0",
                errno="EPERM",
            ) from err
        raise  # EPERM: not enough privilege (classified by the runner)


class UsernsChild:
    """A forked child that enters a new user namespace, mapped by us, then runs ``fn``.

    The child unshares (it is single-threaded, as CLONE_NEWUSER requires), the
    parent writes uid_map/gid_map, the child becomes uid/gid 0 of the namespace
    (so its kuid is what the map says), then runs ``fn``; its result, OSError
    or verdict comes back through ``result()``.
    """

    def __init__(self, fn: Callable[[], Any], uid_map: str, gid_map: str | None = None) -> None:
        self._ready = Gate()
        self._mapped = Gate()

        def body() -> Any:
            try:
                _unshare_user()
            except BaseException:
                self._ready.open(b"E")
                raise
            self._ready.open(b"U")
            self._mapped.wait(5.0)
            # Until it changes credentials the child keeps its old kuid (host root);
            # becoming ns-root makes it the kuid the map says (e.g. 100000).
            os.setresgid(0, 0, 0)
            os.setgroups([])  # drop host root's supplementary groups too
            os.setresuid(0, 0, 0)
            return fn()

        self.child = Child(body)
        try:
            if self._ready.wait(5.0) != b"U":
                self.child.result()  # re-raises the child's OSError or verdict
                raise RuntimeError("user namespace child failed without a reason")
            for name, line in (("uid_map", uid_map), ("gid_map", gid_map or uid_map)):
                with open(f"/proc/{self.child.pid}/{name}", "w") as f:
                    f.write(line + "\n")
            self._mapped.open()
        except BaseException:
            self.finish()
            raise

    def result(self, timeout: float = 5.0) -> Any:
        try:
            return self.child.result(timeout)
        finally:
            self.finish()

    def finish(self) -> None:
        self.child.finish()
        self._ready.close()
        self._mapped.close()


def in_userns(fn: Callable[[], Any], uid_map: str, gid_map: str | None = None) -> Any:
    """Run ``fn`` in a fresh user namespace and return what it returned."""
    return UsernsChild(fn, uid_map, gid_map).result()


# --- probes ----------------------------------------------------------------------


@probe(
    "keys.basic",
    title="Add, read, describe and list a user key in a session keyring",
    item=ITEM,
    since="2.6.10",
    config=("CONFIG_KEYS",),
    needs_root=False,
)
def keys_basic(ctx: ProbeContext) -> Verdict:
    """Pass: the payload reads back, DESCRIBE names the key with our uid, /proc/keys lists it."""
    session = fresh_session()
    payload = f"probe-basic-{os.getpid()}".encode()
    description_wanted = f"probe:basic:{os.getpid()}"  # the pid tells leak checks whose it is
    key = add_key("user", description_wanted, payload, KEY_SPEC_SESSION_KEYRING)
    data = key_read(key)
    description = key_describe(key)
    listed = listed_in_proc_keys(key)
    evidence: dict[str, Any] = {
        "session_keyring": session,
        "key": key,
        "describe": description,
        "proc_keys": listed,
        "maxkeys": _read_sysctl("kernel/keys/maxkeys"),
        "root_maxkeys": _read_sysctl("kernel/keys/root_maxkeys"),
    }
    caps = keyring_capabilities()  # None before 5.3
    evidence["capabilities"] = caps.hex() if caps is not None else None
    if caps is not None and len(caps) >= 2:
        evidence["ns_keyring_names"] = bool(caps[1] & KEYCTL_CAPS1_NS_KEYRING_NAME)
        evidence["ns_key_tags"] = bool(caps[1] & KEYCTL_CAPS1_NS_KEY_TAG)
    try:
        keyctl(KEYCTL_INVALIDATE, key)  # 3.5; the session keyring would drop it anyway
        evidence["invalidated"] = True
    except OSError as err:
        evidence["invalidated"] = errno_name(err)

    fields = description.split(";")
    problems = []
    if data != payload:
        problems.append(f"read back {data!r} instead of {payload!r}")
    if len(fields) < 5 or fields[0] != "user" or fields[-1] != description_wanted:
        problems.append(f"DESCRIBE gave {description!r}")
    elif fields[1] != str(os.geteuid()):
        problems.append(f"DESCRIBE owner {fields[1]} is not our uid {os.geteuid()}")
    if listed is None:
        problems.append("the key is missing from /proc/keys")
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(
        f"user key {key:08x} read back {len(data)} bytes, described as "
        f"{description!r} and listed in /proc/keys; capabilities "
        f"{evidence['capabilities']}",
        **evidence,
    )


@probe(
    "keys.userns.keyring_names",
    title="Named session keyrings are looked up per user namespace",
    item=ITEM,
    since="5.3",
    config=("CONFIG_KEYS", "CONFIG_USER_NS"),
)
def keys_userns_keyring_names(ctx: ProbeContext) -> Verdict:
    """Pass: joining our keyring's name finds the same keyring from our user namespace
    and a different, new one from a user namespace mapping the same kuid ("0 0 1")."""
    fresh_session()
    name = ctx.name("ns")
    host = join_session(name)  # creates it; it dies with the last session holding it
    # Joining a keyring by name needs Search on it, which the default perms lack.
    keyctl(KEYCTL_SETPERM, host, KEY_POS_ALL | KEY_USR_ALL)

    def rejoin() -> dict[str, Any]:
        join_session(None)  # rejoining the keyring we already hold would just return 0
        ring = join_session(name)
        return {"id": ring, "describe": key_describe(ring)}

    same = Child(rejoin)
    try:
        same_ns = same.result()
    finally:
        same.finish()
    other_ns = in_userns(rejoin, IDENTITY_ROOT_MAP)
    evidence = {"name": name, "host": host, "same_userns": same_ns, "new_userns": other_ns}
    if same_ns["id"] != host:
        return failed(
            f"rejoining {name} from our own user namespace gave keyring "
            f"{same_ns['id']} instead of {host}",
            **evidence,
        )
    if other_ns["id"] == host:
        if not names_are_namespaced():
            return unsupported(
                f"a new user namespace joined our keyring {host}: keyring names are global "
                "on this kernel (per-namespace names came in 5.3)",
                **evidence,
            )
        return failed(
            f"a new user namespace (same kuid 0) joined our keyring {host}: "
            "keyring names are not per user namespace",
            **evidence,
        )
    if not other_ns["describe"].endswith(";" + name):
        return failed(f"the new user namespace got {other_ns['describe']!r}", **evidence)
    return passed(
        f"name {name} resolves to {host} in our user namespace and to a separate "
        f"keyring {other_ns['id']} in a new one with the same kuid",
        **evidence,
    )


@probe(
    "keys.userns.user_keyring",
    title="User keyrings belong to the user namespace, not to the kuid",
    item=ITEM,
    since="5.3",
    config=("CONFIG_KEYS", "CONFIG_USER_NS"),
)
def keys_userns_user_keyring(ctx: ProbeContext) -> Verdict:
    """Pass: two user namespaces alive at the same time, both mapping kuid 0 as their
    root, get two different ``_uid.0`` user keyrings (before 5.3 they shared one).

    The host's own user keyring is deliberately not looked up: on current kernels
    GET_KEYRING_ID(KEY_SPEC_USER_KEYRING) creates it even with create=0, and in the
    initial user namespace that keyring would outlive the probe.
    """
    fresh_session()
    got, release = Gate(), Gate()

    def user_keyring() -> dict[str, Any]:
        ring = keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 1)
        return {"id": ring, "describe": key_describe(ring)}

    def user_keyring_held() -> dict[str, Any]:
        found = user_keyring()
        got.open(str(found["id"]).encode())
        release.wait(5.0)  # keep our namespace (and its keyring) alive meanwhile
        return found

    try:
        first = UsernsChild(user_keyring_held, IDENTITY_ROOT_MAP)
        try:
            got.wait(5.0)
            second = in_userns(user_keyring, IDENTITY_ROOT_MAP)
            release.open()
            first_found = first.result()
        finally:
            first.finish()
    finally:
        got.close()
        release.close()
    evidence = {"first_userns": first_found, "second_userns": second}
    if not first_found["describe"].endswith(";_uid.0") or not second["describe"].endswith(
        ";_uid.0"
    ):
        return failed("the user keyrings are not named _uid.0 inside their namespaces", **evidence)
    if first_found["id"] == second["id"] and not names_are_namespaced():
        return unsupported(
            f"both user namespaces got user keyring {second['id']}: user keyrings are per "
            "kuid on this kernel (they moved into the user namespace in 5.3)",
            **evidence,
        )
    if first_found["id"] == second["id"]:
        return failed(
            f"both user namespaces got user keyring {second['id']}: user keyrings "
            "are still per kuid",
            **evidence,
        )
    return passed(
        f"two live user namespaces with root = kuid 0 got separate _uid.0 keyrings "
        f"{first_found['id']} and {second['id']}",
        **evidence,
    )


def _try_access(key: int) -> dict[str, Any]:
    """READ and DESCRIBE ``key`` without possessing it (after joining a new session)."""
    join_session(None)
    with open("/proc/self/uid_map") as f:
        out: dict[str, Any] = {"uid_map": f.read().split()}
    try:
        out["read"] = key_read(key).decode()
    except OSError as err:
        out["read_errno"] = errno_name(err)
    try:
        out["describe"] = key_describe(key)
    except OSError as err:
        out["describe_errno"] = errno_name(err)
    return out


@probe(
    "keys.userns.permission",
    title="Key permission checks use kuids across user namespaces",
    item=ITEM,
    since="3.8",
    config=("CONFIG_KEYS", "CONFIG_USER_NS"),
)
def keys_userns_permission(ctx: ProbeContext) -> Verdict:
    """Pass: ns-root mapped to kuid 100000 gets EACCES on our user-only key; ns-root mapped
    to kuid 0 reads it; once "other" may view+read, the kuid-100000 root reads it and sees
    the owner as 65534 (unmapped)."""
    fresh_session()
    payload = f"probe-perm-{os.getpid()}"
    key = add_key("user", f"probe:perm:{os.getpid()}", payload.encode(), KEY_SPEC_SESSION_KEYRING)
    keyctl(KEYCTL_SETPERM, key, KEY_POS_ALL | KEY_USR_ALL)
    foreign = in_userns(lambda: _try_access(key), FOREIGN_MAP)
    same_kuid = in_userns(lambda: _try_access(key), IDENTITY_ROOT_MAP)
    keyctl(KEYCTL_SETPERM, key, KEY_POS_ALL | KEY_USR_ALL | KEY_OTH_VIEW | KEY_OTH_READ)
    foreign_other = in_userns(lambda: _try_access(key), FOREIGN_MAP)
    evidence = {
        "key": key,
        "foreign_root": foreign,
        "same_kuid_root": same_kuid,
        "foreign_root_other_perm": foreign_other,
    }

    problems = []
    if foreign.get("read_errno") != "EACCES" or foreign.get("describe_errno") != "EACCES":
        problems.append(
            f"kuid-100000 root without 'other' perms got read="
            f"{foreign.get('read', foreign.get('read_errno'))} describe="
            f"{foreign.get('describe', foreign.get('describe_errno'))}"
        )
    if same_kuid.get("read") != payload:
        problems.append(
            f"kuid-0 root in a new namespace could not read the key ({same_kuid.get('read_errno')})"
        )
    if foreign_other.get("read") != payload:
        problems.append(
            f"kuid-100000 root could not read with other=view,read "
            f"({foreign_other.get('read_errno')})"
        )
    described = foreign_other.get("describe", "").split(";")
    if len(described) < 5 or described[1:3] != [str(OVERFLOW_ID), str(OVERFLOW_ID)]:
        problems.append(f"kuid-100000 root saw the owner as {described[1:3]}, not overflow ids")
    if problems:
        return failed("; ".join(problems), **evidence)
    return passed(
        "ns-root as kuid 100000 got EACCES/EACCES, ns-root as kuid 0 read the key, "
        "and with other=view,read the kuid-100000 root read it and saw owner "
        f"{described[1]}:{described[2]}",
        **evidence,
    )


@probe(
    "keys.userns.persistent",
    title="Persistent keyrings are registered per user namespace",
    item=ITEM,
    since="3.13",
    config=("CONFIG_KEYS", "CONFIG_PERSISTENT_KEYRINGS", "CONFIG_USER_NS"),
)
def keys_userns_persistent(ctx: ProbeContext) -> Verdict:
    """Pass: two throwaway user namespaces alive at once (both root = kuid 100000) get two
    different ``_persistent.0`` keyrings, each stable across a second GET_PERSISTENT.
    Never run in the initial user namespace (the keyring would linger for days)."""
    fresh_session()
    got, release = Gate(), Gate()

    def persistent() -> dict[str, Any]:
        join_session(None)
        with introducing("keyctl(KEYCTL_GET_PERSISTENT)"):
            ring = keyctl(KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_SESSION_KEYRING)
        again = keyctl(KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_SESSION_KEYRING)
        return {"id": ring, "again": again, "describe": key_describe(ring)}

    def persistent_held() -> dict[str, Any]:
        found = persistent()
        got.open(str(found["id"]).encode())
        release.wait(5.0)
        return found

    try:
        first = UsernsChild(persistent_held, FOREIGN_MAP)
        try:
            got.wait(5.0)
            second = in_userns(persistent, FOREIGN_MAP)
            release.open()
            first_found = first.result()
        finally:
            first.finish()
    finally:
        got.close()
        release.close()
    evidence = {"first_userns": first_found, "second_userns": second}
    for found in (first_found, second):
        if found["id"] != found["again"]:
            return failed(
                f"GET_PERSISTENT gave {found['id']} then {found['again']} in the same namespace",
                **evidence,
            )
        if not found["describe"].endswith(";_persistent.0"):
            return failed(f"persistent keyring described as {found['describe']!r}", **evidence)
    if first_found["id"] == second["id"]:
        return failed(f"two user namespaces share persistent keyring {second['id']}", **evidence)
    return passed(
        f"two live user namespaces got separate _persistent.0 keyrings "
        f"{first_found['id']} and {second['id']}",
        **evidence,
    )
