"""Probes pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("hosts/", views.host_list, name="host_list"),
    path("hosts/<str:name>/import/", views.host_import, name="host_import"),
]
