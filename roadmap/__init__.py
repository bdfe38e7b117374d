"""Containers Roadmap: the Django project package and the roadmap app."""
