"""``python -m probes.agent``: run the agent worker, or sign an offline results file.

python -m probes.agent worker           # needs AGENT_BROKER_URL, AGENT_HOST, AGENT_SECRET[_FILE]
python -m probes.agent sign FILE [-o OUT] --host NAME (--secret-file F | env AGENT_SECRET)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .. import protocol


def _sign(args: argparse.Namespace) -> int:
    secret = os.environ.get("AGENT_SECRET", "")
    if args.secret_file:
        secret = Path(args.secret_file).read_text().strip()
    if not secret:
        print("sign: give --secret-file or set AGENT_SECRET", file=sys.stderr)
        return 2
    try:
        protocol.host_queue(args.host)
        document = json.loads(Path(args.file).read_text())
    except (OSError, ValueError) as err:
        print(f"sign: {err}", file=sys.stderr)
        return 2
    if not isinstance(document, dict) or "results" not in document:
        print("sign: not a `python -m probes.engine run --json` document", file=sys.stderr)
        return 2
    envelope = protocol.seal(args.host, protocol.KIND_IMPORT, document, secret)
    text = json.dumps(envelope, indent=1)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text)
    return 0


def _worker(extra: list[str]) -> int:
    from .config import ConfigError

    try:
        from .app import app, config
    except ConfigError as err:
        print(f"agent: {err}", file=sys.stderr)
        return 2
    app.worker_main(
        [
            "worker",
            "--pool",
            "solo",
            "--queues",
            protocol.host_queue(config.host),
            "--without-mingle",
            "--without-gossip",
            *extra,
        ]
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m probes.agent",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("worker", help="run the agent (extra arguments go to celery worker)")
    sign = sub.add_parser("sign", help="sign an offline `run --json` file for import")
    sign.add_argument("file")
    sign.add_argument("--host", required=True)
    sign.add_argument("--secret-file")
    sign.add_argument("-o", "--output")
    args, extra = parser.parse_known_args(argv)
    if args.command == "sign":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        return _sign(args)
    return _worker(extra)


if __name__ == "__main__":
    sys.exit(main())
