"""The 2007 seed: it matches the mail item by item and loading it twice changes nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from roadmap.seed import MAIL, ROADMAP_2007, STAKEHOLDERS_2007

ROOT = Path(__file__).resolve().parents[2]


def mail_outline() -> list[tuple[int, str]]:
    """The indented list between "next year:" and "What more", as (indent, text)."""
    text = MAIL.read_text().expandtabs(8)
    body = text.split("next year:", 1)[1].split("What more", 1)[0]
    return [
        (len(line) - len(line.lstrip()), line.strip()) for line in body.splitlines() if line.strip()
    ]


def seed_outline() -> list[str]:
    lines = []

    def walk(item):
        lines.append(item.title)
        lines.extend(item.notes)
        for child in item.children:
            walk(child)

    for position, area in enumerate(ROADMAP_2007, start=1):
        lines.append(f"{position}. {area.title}")
        for item in area.items:
            walk(item)
    return lines


def test_it_matches_the_mail_line_by_line():
    from_mail = [re.sub(r"^\((.*)\)$", r"\1", text) for _, text in mail_outline()]
    from_mail = [t.removeprefix("i.e. ") for t in from_mail]
    assert seed_outline() == from_mail


def test_it_marks_question_marked_entries_as_proposed():
    statuses = {}

    def walk(item):
        statuses[item.title] = item.status
        for child in item.children:
            walk(child)

    for area in ROADMAP_2007:
        for item in area.items:
            walk(item)
    assert statuses["per-container swapfile?"] == "proposed"
    # Group 3 is itself a question in the mail, so its item is a proposal.
    assert (
        statuses["in-kernel keyring usage for cross-usernamespace permissions, etc"] == "proposed"
    )
    assert statuses["pid namespace"] == "in_progress"
    assert statuses["user"] == "planned"


def test_it_lists_the_mails_seven_stakeholders():
    text = MAIL.read_text()
    listed = [
        line.strip()
        for line in text.split("Stakeholders:", 1)[1].split("Who is", 1)[0].splitlines()
        if line.strip()
    ]
    assert [s.mail_name for s in STAKEHOLDERS_2007] == listed


@pytest.mark.django_db
def test_it_loads_the_tree_in_order_with_notes_and_kinds():
    from roadmap.models import Area, RoadmapItem, Stakeholder
    from roadmap.services.seed import seed_load

    seed_load()
    assert [a.slug for a in Area.objects.all()] == [a.slug for a in ROADMAP_2007]
    assert list(Area.objects.values_list("theme", flat=True)) == [
        "namespaces",
        "namespaces",
        "namespaces",
        "process-containers",
        "checkpoint-restart",
    ]
    swap = RoadmapItem.objects.get(slug="per-container-swapfile")
    assert swap.parent.slug == "memory-cr"
    assert swap.status == "proposed"
    assert "there are a few designs and prototypes" in swap.parent.notes
    assert (
        RoadmapItem.objects.get(slug="checkpoint-strategy").notes == "in-kernel vs userspace-driven"
    )
    assert RoadmapItem.objects.get(slug="specific-containers").notes == "poll to see who has plans"
    osdl = Stakeholder.objects.get(slug="osdl")
    assert (osdl.kind, osdl.contact, osdl.contact_uncertain) == ("lab", "Masahiko Takahashi", True)
    kinds = dict(Stakeholder.objects.values_list("name", "kind"))
    assert kinds == {
        "Eric Biederman": "individual",
        "Google": "company",
        "IBM": "company",
        "Kerlabs": "company",
        "OpenVZ": "project",
        "OSDL": "lab",
        "Linux-VServer": "project",
    }
    assert all(s.state == "accepted" for s in Stakeholder.objects.all())


@pytest.mark.django_db
def test_it_changes_nothing_when_loaded_twice_and_keeps_later_edits():
    from roadmap.models import Area, RoadmapItem, Stakeholder
    from roadmap.services.seed import seed_load

    first = seed_load()
    RoadmapItem.objects.filter(slug="pid-namespace").update(status="merged", landed_in="2.6.24")
    snapshot = [list(m.objects.order_by("pk").values()) for m in (Area, RoadmapItem, Stakeholder)]
    second = seed_load()
    assert (first.created, second.created, second.existing) == (27, 0, 27)
    assert [
        list(m.objects.order_by("pk").values()) for m in (Area, RoadmapItem, Stakeholder)
    ] == snapshot


def test_it_loads_on_sqlite_through_the_command(tmp_path):
    """The embedded default path: migrate and load_seed against a fresh SQLite file."""
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "ROADMAP_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "roadmap.settings",
    }

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("migrate", "-v0")
    assert "27 created" in manage("load_seed")
    assert "0 created, 27 already there" in manage("load_seed")
    count = manage(
        "shell", "-c", "from roadmap.models import RoadmapItem as I; print(I.objects.count())"
    )
    assert count.strip().splitlines()[-1] == "15"
