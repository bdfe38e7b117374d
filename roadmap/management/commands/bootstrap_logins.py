"""manage.py bootstrap_logins: the maintainer and one stakeholder login, shown once."""

from django.core.management.base import BaseCommand

from roadmap.services.maintainers import logins_bootstrap


class Command(BaseCommand):
    help = "Create the maintainer login and one stakeholder login; passwords are printed once."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--stakeholder", default="ibm", help="seed slug of the member's stakeholder"
        )

    def handle(self, *args, **options) -> None:
        for login in logins_bootstrap(options["stakeholder"]):
            if login.password:
                self.stdout.write(
                    f"login {login.username} ({login.role}): password {login.password}"
                )
            else:
                self.stdout.write(
                    f"login {login.username} ({login.role}) exists; its password was shown when it "
                    f"was created (reset: manage.py changepassword {login.username})"
                )
