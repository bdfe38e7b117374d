"""The agent: a Celery worker on each probed host. No Django, no database.

It consumes only its own queue ``host.<name>``, runs catalogue probes (by
id, nothing else) through the engine, and streams signed results to the
``central`` queue as each probe finishes; a heartbeat thread sends host
facts. Configured from the environment only (see ``config.py``).
"""
