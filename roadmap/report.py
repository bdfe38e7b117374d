"""The summit report: per area, per item, who owns it and what the kernels in the field do.

``summit_report(since)`` builds a plain, JSON-ready dict (schema version ``SCHEMA``) from
the roadmap read side (``roadmap.selectors.roadmap_tree``) and the probe read side
(``probes.selectors.feature_matrix`` and ``evidence_by_item``); ``report_markdown(report)``
renders that dict as a Markdown document. Neither restates a rule of those selectors: a
kernel passes for an item when every probe of the item seen there passes, a cell is
regressed when the matrix says so.

The report reads a fixed number of queries whatever the data size: three for the roadmap
(areas, items, active claims), three for the matrix (kernels, probes, latest results), and
with ``since`` three more (activity events, latest results observed after ``since``, and
earlier passes of those probes on those kernels).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from probes.engine.results import Status
from probes.models import LatestResult, ProbeResult
from probes.selectors import PARTIAL, Evidence, Matrix, Row, evidence_by_item, feature_matrix

from .models import ActivityEvent, ClaimRole, ItemStatus, Verb
from .selectors import AreaRows, roadmap_tree

SCHEMA = 1  # bump when a key changes meaning or disappears; adding keys keeps it
ROLE_ORDER = {role: n for n, role in enumerate(ClaimRole.values)}  # lead first

# ``changes`` sections fed by the activity log, by verb.
CHANGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "claims": (Verb.CLAIMED,),
    "releases": (Verb.RELEASED,),
    "role_changes": (Verb.ROLE_CHANGED,),
    "status_changes": (Verb.ITEM_STATUS_CHANGED,),
    "proposals": (Verb.ITEM_PROPOSED, Verb.STAKEHOLDER_PROPOSED),
}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _fold_cells(cells: list) -> dict[str, Any]:  # noqa: ANN001 - probes.selectors.Cell
    """The cells of one item's probes on one kernel, as one cell.

    ``status`` is the common status of the probes (so ``pass`` only when every probe
    passes, as ``evidence_by_item`` counts it), else ``partial``; ``hosts`` is the most
    hosts any of the probes was seen on; ``split`` counts results (probe x host) by status.
    """
    split: Counter[str] = Counter()
    for cell in cells:
        split.update(cell.split)
    statuses = {cell.status for cell in cells}
    return {
        "status": statuses.pop() if len(statuses) == 1 else PARTIAL,
        "hosts": max(cell.hosts for cell in cells),
        "split": dict(sorted(split.items())),
    }


def _item_evidence(matrix: Matrix, rows: list[Row], evidence: Evidence | None) -> dict[str, Any]:
    evidence = evidence or Evidence(0, 0, None, [])
    kernels = {}
    for kernel in matrix.kernels:  # oldest first
        cells = [row.cells[kernel.pk] for row in rows if kernel.pk in row.cells]
        if cells:
            kernels[kernel.release] = _fold_cells(cells)
    return {
        "summary": evidence.summary,
        "kernels": kernels,
        "since": evidence.since,
        "regressed_on": list(evidence.regressed_on),
    }


def _regressions(matrix: Matrix) -> list[dict[str, Any]]:
    """Every regressed matrix cell, by area, probe and kernel."""
    found = []
    for row in matrix.rows:
        for kernel in row.regressed_on:
            cell = row.cells[kernel.pk]
            found.append(
                {
                    "probe": row.probe.pk,
                    "title": row.probe.title,
                    "area": row.probe.area.slug,
                    "item": row.probe.item.slug if row.probe.item_id else None,
                    "kernel": kernel.release,
                    "status": cell.status,
                    "hosts": cell.hosts,
                    "split": dict(sorted(cell.split.items())),
                    "passed_since": row.since.release if row.since else None,
                }
            )
    return found


def _areas(tree: list[AreaRows], matrix: Matrix) -> list[dict[str, Any]]:
    rows_by_item: dict[int, list[Row]] = {}
    for row in matrix.rows:
        if row.probe.item_id is not None:
            rows_by_item.setdefault(row.probe.item_id, []).append(row)
    evidence = evidence_by_item(matrix)
    areas = []
    for area_rows in tree:
        items = []
        for item_row in area_rows.rows:
            item = item_row.item
            claims = sorted(
                item_row.claims, key=lambda c: (ROLE_ORDER.get(c.role, 99), c.stakeholder.name)
            )
            items.append(
                {
                    "slug": item.slug,
                    "title": item.title,
                    "status": item.status,
                    "landed_in": item.landed_in or None,
                    "notes": item.notes,
                    "depth": item_row.depth,
                    "owners": [
                        {
                            "stakeholder": claim.stakeholder.slug,
                            "name": claim.stakeholder.name,
                            "role": claim.role,
                            "note": claim.note,
                        }
                        for claim in claims
                    ],
                    "evidence": _item_evidence(
                        matrix, rows_by_item.get(item.pk, []), evidence.get(item.pk)
                    ),
                }
            )
        area = area_rows.area
        areas.append({"slug": area.slug, "title": area.title, "theme": area.theme, "items": items})
    return areas


def _event(event: ActivityEvent) -> dict[str, Any]:
    return {
        "at": _iso(event.at),
        "verb": event.verb,
        "actor": event.actor.get_username() if event.actor else None,
        "item": event.item.slug if event.item else None,
        "stakeholder": event.stakeholder.slug if event.stakeholder else None,
        "data": event.data,
    }


def _changes(since: datetime, matrix: Matrix) -> dict[str, Any]:
    """What changed after ``since``.

    - ``claims``, ``releases``, ``role_changes``, ``status_changes``, ``proposals``: the
      activity events of those verbs after ``since``, oldest first.
    - ``newly_passing``: (probe, kernel) pairs with a latest result observed after ``since``
      that passes, where no result of that probe on that kernel (any host) passed at or
      before ``since``.
    - ``newly_regressed``: (probe, kernel) pairs with a latest result observed after
      ``since`` whose matrix cell is regressed now.
    """
    changes: dict[str, Any] = {name: [] for name in CHANGE_SECTIONS}
    section_of = {verb: name for name, verbs in CHANGE_SECTIONS.items() for verb in verbs}
    events = (
        ActivityEvent.objects.filter(at__gt=since, verb__in=list(section_of))
        .select_related("actor", "item", "stakeholder")
        .order_by("at", "id")
    )
    for event in events:
        changes[section_of[event.verb]].append(_event(event))

    rows = {row.probe.pk: row for row in matrix.rows}
    kernels = {kernel.pk: kernel for kernel in matrix.kernels}
    recent: dict[tuple[str, int], str] = {}  # (probe, kernel) -> newest observation
    passing_now: set[tuple[str, int]] = set()
    for probe_id, kernel_id, state, observed_at in LatestResult.objects.filter(
        observed_at__gt=since
    ).values_list("probe_id", "kernel_id", "status", "observed_at"):
        if probe_id not in rows or kernel_id not in kernels:
            continue  # a probe that left the catalogue
        key = (probe_id, kernel_id)
        recent[key] = max(recent.get(key, ""), _iso(observed_at))
        if state == Status.PASS:
            passing_now.add(key)
    passed_before: set[tuple[str, int]] = set()
    if passing_now:
        # Bounded by probes x kernels: one IN list each, the pairs are matched here.
        earlier = ProbeResult.objects.filter(
            probe_id__in={p for p, _ in passing_now},
            kernel_id__in={k for _, k in passing_now},
            status=Status.PASS,
            observed_at__lte=since,
        )
        passed_before = set(earlier.order_by().values_list("probe_id", "kernel_id").distinct())

    def entry(key: tuple[str, int]) -> dict[str, Any]:
        row, kernel = rows[key[0]], kernels[key[1]]
        return {
            "probe": row.probe.pk,
            "title": row.probe.title,
            "item": row.probe.item.slug if row.probe.item_id else None,
            "kernel": kernel.release,
            "status": row.cells[kernel.pk].status,
            "observed_at": recent[key],
        }

    order = sorted(recent, key=lambda k: (rows[k[0]].probe.position, kernels[k[1]].version_key))
    changes["newly_passing"] = [entry(k) for k in order if k in passing_now - passed_before]
    changes["newly_regressed"] = [
        entry(k) for k in order if k[1] in rows[k[0]].cells and rows[k[0]].cells[k[1]].regressed
    ]
    return changes


def summit_report(since: datetime | None = None) -> dict[str, Any]:
    """The report as a JSON-ready dict; ``since`` (aware) adds ``changes`` (see ``_changes``).

    Summary: ``items`` all roadmap items, ``claimed``/``unclaimed`` items with/without an
    active claim, ``stakeholders`` those holding at least one active claim, ``kernels``
    the kernels with results, ``regressions`` the regressed cells listed in
    ``regressions``, ``by_status`` items per roadmap status.
    """
    tree = roadmap_tree()
    matrix = feature_matrix()
    areas = _areas(tree, matrix)
    items = [item for area in areas for item in area["items"]]
    regressions = _regressions(matrix)
    by_status = dict.fromkeys(ItemStatus.values, 0)
    by_status.update(Counter(item["status"] for item in items))
    owners = {owner["stakeholder"] for item in items for owner in item["owners"]}
    unclaimed = [item["slug"] for item in items if not item["owners"]]
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "generated_at": _iso(timezone.now()),
        "since": _iso(since) if since else None,
        "summary": {
            "items": len(items),
            "claimed": len(items) - len(unclaimed),
            "unclaimed": len(unclaimed),
            "stakeholders": len(owners),
            "kernels": len(matrix.kernels),
            "regressions": len(regressions),
            "by_status": by_status,
        },
        "areas": areas,
        "regressions": regressions,
        "unclaimed": unclaimed,
    }
    if since is not None:
        report["changes"] = _changes(since, matrix)
    return report


# --- Markdown -------------------------------------------------------------------------------

CHANGE_TITLES = {
    "claims": "New claims",
    "releases": "Released claims",
    "role_changes": "Role changes",
    "status_changes": "Status changes",
    "proposals": "Proposals",
    "newly_passing": "Newly passing",
    "newly_regressed": "Newly regressed",
}


def _md(text: Any) -> str:
    """One line of inline text, with Markdown's table and emphasis characters escaped."""
    line = " ".join(str(text).split())
    for char in ("\\", "|", "*", "_", "`", "[", "]", "<", ">"):
        line = line.replace(char, "\\" + char)
    return line


def _owner_line(owner: dict[str, Any]) -> str:
    line = f"- **{_md(owner['name'])}** — {owner['role']}"
    if owner["note"]:
        line += f": {_md(owner['note'])}"
    return line


def _event_line(section: str, entry: dict[str, Any]) -> str:
    if section in ("newly_passing", "newly_regressed"):
        item = f" ({_md(entry['item'])})" if entry["item"] else ""
        return f"- `{entry['probe']}`{item} on {_md(entry['kernel'])}: {entry['status']}"
    verb = Verb(entry["verb"]).label if entry["verb"] in Verb.values else entry["verb"]
    parts = [entry["at"][:10], _md(entry["actor"] or "system"), verb]
    if entry["item"]:
        parts.append(f"`{entry['item']}`")
    if entry["stakeholder"]:
        parts.append(("for " if entry["item"] else "") + _md(entry["stakeholder"]))
    details = ", ".join(f"{_md(k)}={_md(v)}" for k, v in sorted(entry["data"].items()))
    return "- " + " ".join(parts) + (f" ({details})" if details else "")


def _item_lines(item: dict[str, Any]) -> list[str]:
    evidence = item["evidence"]
    status = item["status"].replace("_", " ")
    if item["landed_in"]:
        status += f", landed in {_md(item['landed_in'])}"
    level = "#" * min(3 + item["depth"], 6)  # sub-items one level below their parent
    lines = [f"{level} {_md(item['title'])}", "", f"`{item['slug']}` · {status}", ""]
    if item["notes"]:
        lines += [_md(item["notes"]), ""]
    lines += [_owner_line(o) for o in item["owners"]] or ["- _unclaimed_"]
    lines += ["", f"Evidence: {_md(evidence['summary'])}", ""]
    if evidence["kernels"]:
        lines += ["| kernel | status | hosts | results |", "|---|---|---|---|"]
        for release, cell in evidence["kernels"].items():
            split = ", ".join(f"{s} {n}" for s, n in cell["split"].items())
            lines.append(f"| {_md(release)} | {cell['status']} | {cell['hosts']} | {split} |")
        lines.append("")
    return lines


def report_markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown document: summary, changes, areas and items, regressions,
    unclaimed items. It carries the same content as the dict it is given."""
    summary = report["summary"]
    lines = [
        "# Containers roadmap: summit report",
        "",
        f"Schema {report['schema']} · generated {report['generated_at']}"
        + (f" · changes since {report['since']}" if report["since"] else ""),
        "",
        "## Summary",
        "",
        f"- items: {summary['items']} ({summary['claimed']} claimed, "
        f"{summary['unclaimed']} unclaimed)",
        f"- stakeholders with claims: {summary['stakeholders']}",
        f"- kernels with results: {summary['kernels']}",
        f"- open regressions: {summary['regressions']}",
        "- by status: "
        + ", ".join(f"{s.replace('_', ' ')} {n}" for s, n in summary["by_status"].items()),
        "",
    ]
    if "changes" in report:
        lines += ["## Changes", ""]
        for section, title in CHANGE_TITLES.items():
            entries = report["changes"].get(section, [])
            lines += [f"### {title}", ""]
            lines += [_event_line(section, e) for e in entries] or ["- none"]
            lines.append("")
    for area in report["areas"]:
        lines += [f"## {_md(area['title'])}", "", f"Theme: {area['theme']}", ""]
        for item in area["items"]:
            lines += _item_lines(item)
    lines += ["## Regressions", ""]
    if report["regressions"]:
        lines += ["| probe | item | kernel | status | hosts |", "|---|---|---|---|---|"]
        for r in report["regressions"]:
            lines.append(
                f"| `{r['probe']}` | {_md(r['item'] or '-')} | {_md(r['kernel'])} "
                f"| {r['status']} | {r['hosts']} |"
            )
    else:
        lines.append("None.")
    lines += ["", "## Unclaimed items", ""]
    lines += [f"- `{slug}`" for slug in report["unclaimed"]] or ["None."]
    return "\n".join(lines) + "\n"
