"""Probes pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("hosts/", views.host_list, name="host_list"),
    path("hosts/<str:name>/import/", views.host_import, name="host_import"),
    path("matrix/", views.matrix, name="matrix"),
    path("matrix/<str:probe_id>/<str:release>/", views.matrix_cell, name="matrix_cell"),
    path("kernels/compare/", views.kernels_compare, name="kernels_compare"),
]
