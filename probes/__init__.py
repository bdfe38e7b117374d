"""Probes: the Django app for hosts, kernels, runs and results.

Its sub-packages ``probes.engine`` (the probe engine) and ``probes.agent`` (the
Celery agent on probed hosts) never import Django, so this package's
``__init__`` must stay free of Django imports too.
"""
