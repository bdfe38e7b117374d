"""Routes of /api/v1/: the roadmap and probe endpoints, the schema and its two viewers."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from probes.api import urls as probe_urls

from . import report, views

app_name = "api"

router = DefaultRouter()
router.register("areas", views.AreaViewSet, basename="area")
router.register("items", views.ItemViewSet, basename="item")
router.register("stakeholders", views.StakeholderViewSet, basename="stakeholder")
router.register("claims", views.ClaimViewSet, basename="claim")
router.register("activity", views.ActivityViewSet, basename="activity")
router.registry.extend(probe_urls.router.registry)  # one API root lists every collection

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    path("report/", report.ReportView.as_view(), name="report"),
    *probe_urls.urlpatterns,
    *router.urls,
]
