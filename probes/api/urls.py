"""Routes of the probe side of the API (mounted under /api/v1/ by roadmap.api.urls)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("probes", views.ProbeViewSet, basename="probe")
router.register("hosts", views.HostViewSet, basename="host")
router.register("kernels", views.KernelViewSet, basename="kernel")
router.register("runs", views.RunViewSet, basename="run")
router.register("results", views.ResultViewSet, basename="result")

# The router's routes are served by roadmap.api.urls, which merges this registry into the
# one API root; only the routes that are not collections are listed here.
urlpatterns = [
    path("imports/", views.ImportView.as_view(), name="import"),
    path("matrix/", views.MatrixView.as_view(), name="matrix"),
    path("regressions/", views.RegressionView.as_view(), name="regressions"),
]
