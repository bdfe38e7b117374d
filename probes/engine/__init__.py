"""The probe engine: pure Python (standard library and psutil), no Django, no Celery.

``catalogue`` declares the probes, ``runner`` executes them in forked
children, ``facts`` describes the host, ``__main__`` is the command line.
"""
