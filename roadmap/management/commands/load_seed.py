"""manage.py load_seed: load the 2007 roadmap (safe to run again)."""

from django.core.management.base import BaseCommand

from roadmap.services.seed import seed_load


class Command(BaseCommand):
    help = "Load the 2007 containers roadmap seed; running it again changes nothing."

    def handle(self, *args, **options) -> None:
        report = seed_load()
        self.stdout.write(f"seed: {report.created} created, {report.existing} already there")
