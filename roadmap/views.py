"""Roadmap pages: thin views over selectors and services."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import access, selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "roadmap/home.html",
        {"tree": selectors.roadmap_tree(), "acting_for": access.stakeholders_for(request.user)},
    )
