"""manage.py import_results FILE: import an offline host's signed results file."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from probes.services.ingest import Rejected, results_import


class Command(BaseCommand):
    help = "Import a file made by `probes.engine run --json` and signed by `probes.agent sign`."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")

    def handle(self, *args, **options) -> None:
        try:
            envelope = json.loads(Path(options["file"]).read_text())
        except OSError as err:
            raise CommandError(f"cannot read {options['file']}: {err.strerror}") from None
        except ValueError as err:
            raise CommandError(f"{options['file']} is not JSON: {err}") from None
        try:
            run, created = results_import(envelope)
        except Rejected as err:
            raise CommandError(str(err)) from None
        if created:
            self.stdout.write(f"imported run {run.pk} from {run.host.name}: {run.received} results")
        else:
            self.stdout.write(f"already imported as run {run.pk}; nothing added")
