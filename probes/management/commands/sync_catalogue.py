"""manage.py sync_catalogue: make the Probe rows match the engine's catalogue."""

from django.core.management.base import BaseCommand

from probes.services.catalogue import catalogue_sync


class Command(BaseCommand):
    help = "Create or update a Probe row per catalogue probe (after load_seed)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"catalogue: {catalogue_sync()} probes")
