"""Probes pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("hosts/", views.host_list, name="host_list"),
    path("hosts/<str:name>/", views.host_detail, name="host_detail"),
    path("hosts/<str:name>/runs/", views.run_start, name="run_start"),
    path("hosts/<str:name>/import/", views.host_import, name="host_import"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:pk>/cancel/", views.run_cancel_view, name="run_cancel"),
    path("matrix/", views.matrix, name="matrix"),
    path("matrix/<str:probe_id>/<str:release>/", views.matrix_cell, name="matrix_cell"),
    path("kernels/compare/", views.kernels_compare, name="kernels_compare"),
]
