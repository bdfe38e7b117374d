"""The command line: ``python -m probes.engine list | facts | run``.

    list  [--only GLOB]... [--json]      the catalogue (intrusive probes included, marked)
    facts [--json]                       the host facts
    run   [--only GLOB]... [--jobs N] [--timeout S] [--intrusive] [--json | --stream]

``run`` on a terminal shows a live progress line on stderr (only when stderr
is a tty) and then a table grouped by roadmap area with totals per status;
colour only when stdout is a tty and NO_COLOR is unset, and the status is
always written as a word.

``run --json`` prints ONE document, the format agents send and offline
hosts bring for import::

    {"schema": results.SCHEMA_VERSION, "generated_at": "<ISO-8601 UTC>",
     "facts": {...}, "options": {"only", "jobs", "timeout", "intrusive"},
     "results": [ProbeResult.to_json(), ...], "janitor": [finding, ...],
     "duration_ms": <wall time of the run>}

``run --stream`` prints one JSON object per line as things happen (for the
agent): first ``{"schema", "generated_at", "facts", "options"}``, then one
``ProbeResult.to_json()`` per probe as it finishes, last ``{"janitor": [...],
"duration_ms", "totals"}``.

Exit status: 0 when the probes ran, whatever they found; 2 with a one-line
message on stderr for bad arguments; 130 on Ctrl-C and 143 on SIGTERM (both
after the running probes were stopped and cleaned up).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn, TextIO

from . import catalogue, facts, kconfig, runner
from .results import SCHEMA_VERSION, ProbeResult, Status

PROG = "python -m probes.engine"

_COLOURS = {
    Status.PASS: "32",  # green
    Status.FAIL: "1;31",  # bold red
    Status.UNSUPPORTED: "33",  # yellow
    Status.DISABLED: "35",  # magenta
    Status.DENIED: "36",  # cyan
    Status.SKIPPED: "2",  # dim
    Status.ERROR: "1;31",
    Status.TIMEOUT: "1;31",
}
_STATUS_WIDTH = max(len(s.value) for s in Status)


class UsageError(Exception):
    """Bad arguments: reported as one line on stderr, exit status 2."""

    def __init__(self, message: str, prog: str = PROG) -> None:
        super().__init__(message)
        self.prog = prog


class Terminated(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """SIGTERM arrived: unwind like Ctrl-C so running probes are stopped and cleaned up."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)", self.prog)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Probe the running kernel's container features.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list the probe catalogue")
    listing.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="GLOB",
        help="only probes whose id matches (repeatable)",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")

    host = commands.add_parser("facts", help="describe this host")
    host.add_argument("--json", action="store_true", help="print JSON")

    run = commands.add_parser("run", help="run probes")
    run.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="GLOB",
        help="only probes whose id matches this glob (repeatable)",
    )
    run.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="probes run in parallel (default: the CPU count)",
    )
    run.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=None,
        metavar="S",
        help="deadline in seconds for every probe (default: each probe's own)",
    )
    run.add_argument(
        "--intrusive",
        action="store_true",
        help="also run probes that touch the host beyond their own processes",
    )
    output = run.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON document")
    output.add_argument(
        "--stream", action="store_true", help="print one JSON line per result as it finishes"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        catalogue.load()
        if args.command == "list":
            return _list(args)
        if args.command == "facts":
            return _facts(args)
        return _run(args)
    except UsageError as err:
        print(f"{err.prog}: error: {err}", file=sys.stderr)
        return 2
    except Terminated:
        print(
            f"{PROG}: terminated; the probes that were running were stopped and cleaned up",
            file=sys.stderr,
        )
        return 143
    except KeyboardInterrupt:
        print(
            f"{PROG}: interrupted; the probes that were running were stopped and cleaned up",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # e.g. piped into head: nobody reads any more
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _select(globs: list[str], intrusive: bool) -> list[catalogue.Probe]:
    try:
        chosen = catalogue.select(globs, intrusive=intrusive)
    except catalogue.UnknownProbe as err:
        raise UsageError(f"{err}; `{PROG} list` shows the probe ids") from None
    if globs and not chosen:
        raise UsageError(
            f"{', '.join(map(repr, globs))} only matches intrusive probes; "
            "add --intrusive to run them"
        )
    return chosen


# -- list -------------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    probes = _select(args.only, intrusive=True)
    if args.json:
        _print_json({"schema": SCHEMA_VERSION, "probes": [p.describe() for p in probes]})
        return 0
    paint = _painter(sys.stdout)
    width = max((len(p.id) for p in probes), default=0)
    for area, title in catalogue.AREAS.items():
        members = [p for p in probes if p.area == area]
        if not members:
            continue
        print(paint(title, "1"))
        for p in members:
            marks = " ".join(
                m for m, on in (("root", p.needs_root), ("intrusive", p.intrusive)) if on
            )
            print(f"  {p.id:<{width}}  {p.since:>6}  {marks:<14}  {p.title}")
    intrusive = sum(p.intrusive for p in probes)
    print(f"{len(probes)} probes ({intrusive} intrusive: they run only with --intrusive)")
    return 0


# -- facts ------------------------------------------------------------------------------------


def _facts(args: argparse.Namespace) -> int:
    host = facts.collect()
    if args.json:
        _print_json(host)
        return 0
    for label, value in _facts_lines(host):
        print(f"{label:<18} {value}")
    return 0


def _facts_lines(host: dict[str, Any]) -> list[tuple[str, str]]:
    kernel = host["kernel"]
    dist = host.get("distribution") or {}
    cgroups = host["cgroups"]
    bound = [f"{n}({c['hierarchy']})" for n, c in cgroups["v1"].items() if c["hierarchy"]]
    unbound = [n for n, c in cgroups["v1"].items() if not c["hierarchy"]]
    v2 = cgroups["v2"]
    v2_text = f"{v2['mount']}: {' '.join(v2['controllers'] or []) or '(none)'}" if v2 else "none"
    priv = host["privilege"]
    who = "root" if priv["root"] else "not root"
    missing = ", ".join(priv["missing_effective"]) or "none"
    tools = ", ".join(f"{k} {v or 'absent'}" for k, v in host["tools"].items())
    memory = host["memory"]
    return [
        ("hostname", host["hostname"]),
        (
            "kernel",
            f"{kernel['release']} (version {'.'.join(map(str, kernel['version']))}), "
            f"{host['architecture']}",
        ),
        ("distribution", dist.get("pretty_name") or dist.get("name") or "unknown"),
        ("cpus", f"{host['cpus']['logical']} logical, {host['cpus']['usable']} usable"),
        ("memory", f"{_gib(memory['total_bytes'])} total, swap {_gib(memory['swap_total_bytes'])}"),
        ("cgroup layout", cgroups["layout"]),
        ("cgroup v1", " ".join(bound) or "none"),
        ("unbound v1", " ".join(unbound) or "none"),
        ("cgroup v2", v2_text),
        ("privilege", f"{who} (euid {priv['euid']}); missing capabilities: {missing}"),
        ("namespace limits", " ".join(f"{k}={v}" for k, v in host["namespace_limits"].items())),
        ("sysctls", " ".join(f"{k}={v}" for k, v in host["sysctls"].items() if v is not None)),
        ("tools", tools),
        ("kernel config", host["kernel_config"]["source"] or "not readable"),
    ]


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


# -- run --------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    probes = _select(args.only, intrusive=args.intrusive)
    jobs = args.jobs or os.cpu_count() or 1
    options = {
        "only": args.only,
        "jobs": jobs,
        "timeout": args.timeout,
        "intrusive": args.intrusive,
    }
    config = kconfig.read()
    generated_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = facts.collect(config)
    head = {
        "schema": SCHEMA_VERSION,
        "generated_at": generated_at,
        "facts": host,
        "options": options,
    }
    progress = _Progress(len(probes)) if sys.stderr.isatty() else None

    def on_result(result: ProbeResult) -> None:
        if args.stream:
            _print_json(result.to_json(), line=True)
        if progress is not None:
            progress.update(result)

    if args.stream:
        _print_json(head, line=True)
    started = time.monotonic()
    try:
        results = runner.run(
            probes, jobs=jobs, timeout=args.timeout, kernel_config=config, on_result=on_result
        )
    finally:
        if progress is not None:
            progress.clear()
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    totals = dict(Counter(r.status.value for r in results))
    if args.stream:
        _print_json(
            {"janitor": results.janitor, "duration_ms": duration_ms, "totals": totals}, line=True
        )
    elif args.json:
        _print_json(
            {
                **head,
                "results": [r.to_json() for r in results],
                "janitor": results.janitor,
                "duration_ms": duration_ms,
            }
        )
    else:
        _table(probes, results, duration_ms, sys.stdout)
    return 0


class _Progress:
    """One line on stderr, rewritten as each probe finishes."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.counts: Counter[str] = Counter()

    def update(self, result: ProbeResult) -> None:
        self.done += 1
        self.counts[result.status.value] += 1
        counts = " ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        line = f"[{self.done}/{self.total}] {counts} | {result.probe_id}: {result.status.value}"
        width = shutil.get_terminal_size().columns - 1
        sys.stderr.write("\r\033[K" + line[:width])
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def _table(
    probes: list[catalogue.Probe], results: list[ProbeResult], duration_ms: float, out: TextIO
) -> None:
    paint = _painter(out)
    by_id = {r.probe_id: r for r in results}
    width = max((len(p.id) for p in probes), default=0)
    columns = shutil.get_terminal_size().columns if out.isatty() else 0
    for area, title in catalogue.AREAS.items():
        rows = [by_id[p.id] for p in probes if p.area == area and p.id in by_id]
        if not rows:
            continue
        out.write(paint(title, "1") + "\n")
        for r in rows:
            word = paint(f"{r.status.value:<{_STATUS_WIDTH}}", _COLOURS[r.status])
            line = f"  {word}  {r.probe_id:<{width}}  {r.duration_ms:>8.1f} ms  "
            detail = r.detail
            if columns:  # keep one row per probe on a terminal
                room = columns - (2 + _STATUS_WIDTH + 2 + width + 2 + 11 + 2)
                detail = detail if len(detail) <= room else detail[: max(room - 1, 10)] + "…"
            out.write(line + detail + "\n")
            if r.config:
                options = " ".join(f"{k}={v}" for k, v in r.config.items())
                out.write(f"  {'':<{_STATUS_WIDTH}}  {'':<{width}}  config: {options}\n")
        out.write("  " + _totals(rows, paint) + "\n\n")
    janitor = getattr(results, "janitor", [])
    for finding in janitor:
        state = "removed" if finding["fixed"] else "NOT removed"
        out.write(f"janitor: {finding['kind']} {finding['what']} {state}: {finding['detail']}\n")
    noun = "probe" if len(results) == 1 else "probes"
    out.write(f"{len(results)} {noun} in {duration_ms / 1000:.2f} s: {_totals(results, paint)}\n")


def _totals(rows: list[ProbeResult], paint: Any) -> str:
    counts = Counter(r.status for r in rows)
    return ", ".join(paint(f"{counts[s]} {s.value}", _COLOURS[s]) for s in Status if counts[s])


def _painter(out: TextIO) -> Any:
    """Colour only on a terminal and when NO_COLOR is unset."""
    if out.isatty() and "NO_COLOR" not in os.environ:
        return lambda text, code: f"\033[{code}m{text}\033[0m"
    return lambda text, code: text


def _print_json(document: dict[str, Any], line: bool = False) -> None:
    if line:
        sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
    else:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.stdout.flush()
