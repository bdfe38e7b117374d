"""The first data set: the 2007 "containers development plans" mail.

``containers-development-plans-2007.txt`` beside this module is the mail
itself; ``ROADMAP_2007`` is its structure, item by item in the mail's order,
with its remarks kept as notes. The loader (``roadmap.services.seed``) reads
only this module; a test checks it against the mail text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAIL = Path(__file__).with_name("containers-development-plans-2007.txt")
SOURCE = "Serge E. Hallyn, containers development plans, containers list, 2 July 2007"


@dataclass(frozen=True)
class SeedItem:
    slug: str
    title: str  # as the mail words it
    status: str = "planned"
    notes: tuple[str, ...] = ()
    children: tuple[SeedItem, ...] = ()


@dataclass(frozen=True)
class SeedArea:
    slug: str
    title: str  # as the mail words it
    theme: str
    items: tuple[SeedItem, ...] = ()
    notes: tuple[str, ...] = ()


# "completion of ongoing" work was in progress in 2007; "continuation" was planned;
# the mail's question marks make an entry a proposal.
ROADMAP_2007: tuple[SeedArea, ...] = (
    SeedArea(
        "ongoing-namespaces",
        "completion of ongoing namespaces",
        "namespaces",
        items=(
            SeedItem("pid-namespace", "pid namespace", "in_progress"),
            SeedItem("net-namespace", "net namespace", "in_progress"),
            SeedItem("ro-bind-mounts", "ro bind mounts", "in_progress"),
        ),
    ),
    SeedArea(
        "new-namespaces",
        "continuation with new namespaces",
        "namespaces",
        items=(
            SeedItem("devpts-console-tty", "devpts, console, and ttydrivers"),
            SeedItem("user-namespace", "user"),
            SeedItem("time-namespace", "time"),
            SeedItem("namespace-management-tools", "namespace management tools"),
            SeedItem("namespace-entering", "namespace entering"),
        ),
    ),
    SeedArea(
        "virtual-servers",
        "any additional work needed for virtual servers?",
        "namespaces",
        items=(
            SeedItem(
                "keyring-cross-userns",
                "in-kernel keyring usage for cross-usernamespace permissions, etc",
                "proposed",
            ),
        ),
    ),
    SeedArea(
        "task-containers",
        "task containers functionality",
        "process-containers",
        items=(
            SeedItem("task-containers-base", "base features"),
            SeedItem(
                "specific-containers", "specific containers", notes=("poll to see who has plans",)
            ),
        ),
    ),
    SeedArea(
        "checkpoint-restart",
        "checkpoint/restart",
        "checkpoint-restart",
        items=(
            SeedItem(
                "memory-cr",
                "memory c/r",
                notes=(
                    "there are a few designs and prototypes",
                    "though this may be ironed out by then",
                ),
                children=(
                    SeedItem("per-container-swapfile", "per-container swapfile?", "proposed"),
                ),
            ),
            SeedItem(
                "checkpoint-strategy",
                "overall checkpoint strategy",
                notes=("in-kernel vs userspace-driven",),
            ),
            SeedItem("restart-strategy", "overall restart strategy"),
        ),
    ),
)


@dataclass(frozen=True)
class SeedStakeholder:
    slug: str
    name: str
    mail_name: str  # as the mail lists it
    kind: str
    contact: str = ""
    contact_uncertain: bool = False


STAKEHOLDERS_2007: tuple[SeedStakeholder, ...] = (
    SeedStakeholder(
        "eric-biederman", "Eric Biederman", "Eric Biederman", "individual", "Eric Biederman"
    ),
    SeedStakeholder("google", "Google", "google", "company"),
    SeedStakeholder("ibm", "IBM", "ibm", "company"),
    SeedStakeholder("kerlabs", "Kerlabs", "kerlabs", "company"),
    SeedStakeholder("openvz", "OpenVZ", "openvz", "project"),
    SeedStakeholder(
        "osdl", "OSDL", "osdl (Masahiko Takahashi?)", "lab", "Masahiko Takahashi", True
    ),
    SeedStakeholder("linux-vserver", "Linux-VServer", "vserver", "project"),
)
