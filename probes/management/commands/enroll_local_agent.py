"""manage.py enroll_local_agent SECRET_FILE: the agent that bin/run starts on this machine."""

from pathlib import Path

from django.core.management.base import BaseCommand

from probes.services.hosts import local_agent_ensure


class Command(BaseCommand):
    help = "Enroll this machine (once) and keep its agent secret in SECRET_FILE (mode 0600)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("secret_file")

    def handle(self, *args, **options) -> None:
        host = local_agent_ensure(Path(options["secret_file"]))
        self.stdout.write(host.name)
