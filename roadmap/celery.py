"""The central Celery app: the web side sends with it, the central worker and beat run it.

Agents on probed hosts use their own app in ``probes.agent`` (no Django).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "roadmap.settings")

app = Celery("roadmap")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
