from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RoadmapConfig(AppConfig):
    name = "roadmap"
    verbose_name = "Roadmap"

    def ready(self) -> None:
        from .services.maintainers import maintainers_group_ensure

        # After every migrate (and test flush): permissions exist by then.
        post_migrate.connect(
            lambda **kwargs: maintainers_group_ensure(),
            sender=self,
            weak=False,
            dispatch_uid="roadmap.maintainers_group",
        )
