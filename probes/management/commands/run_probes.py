"""manage.py run_probes --host NAME [--only GLOB]...: dispatch a run to a host's agent."""

from django.core.management.base import BaseCommand, CommandError

from probes.models import Host, RunTrigger
from probes.services.runs import RunError, run_dispatch


class Command(BaseCommand):
    help = "Queue a probe run on an enrolled host."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", required=True)
        parser.add_argument("--only", action="append", default=[], metavar="GLOB")
        parser.add_argument("--intrusive", action="store_true")

    def handle(self, *args, **options) -> None:
        host = Host.objects.filter(name=options["host"]).first()
        if host is None:
            raise CommandError(f"no host named {options['host']!r}")
        try:
            run = run_dispatch(
                host,
                only=options["only"],
                intrusive=options["intrusive"],
                trigger=RunTrigger.MANUAL,
            )
        except RunError as err:
            raise CommandError(str(err)) from None
        self.stdout.write(f"run {run.pk} queued on {host.name}: {run.expected} probes")
