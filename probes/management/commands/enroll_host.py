"""manage.py enroll_host NAME: register a host and show its secret once."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from probes.services.hosts import HostError, host_enroll, host_secret_write


class Command(BaseCommand):
    help = "Enroll a host for an agent; its secret is printed once and never again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--allow-intrusive", action="store_true")
        parser.add_argument(
            "--secret-file", help="write the secret to this file (mode 0600) instead"
        )

    def handle(self, *args, **options) -> None:
        try:
            host = host_enroll(options["name"], allow_intrusive=options["allow_intrusive"])
        except HostError as err:
            raise CommandError(str(err)) from None
        if options["secret_file"]:
            host_secret_write(host, Path(options["secret_file"]))
            self.stdout.write(f"enrolled {host.name}; secret written to {options['secret_file']}")
        else:
            self.stdout.write(f"enrolled {host.name}; its secret (shown once): {host.secret}")
