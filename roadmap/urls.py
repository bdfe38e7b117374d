"""URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import proposal_views, report_views, views
from .api import pages as api_pages

urlpatterns = [
    path("", views.home, name="home"),
    path("items/<slug:slug>/", views.item_detail, name="item_detail"),
    path("items/<slug:slug>/claim/", views.claim_create, name="claim_create"),
    path("claims/<int:pk>/role/", views.claim_role, name="claim_role"),
    path("claims/<int:pk>/release/", views.claim_release, name="claim_release"),
    path("stakeholders/<slug:slug>/", views.stakeholder_detail, name="stakeholder_detail"),
    path("report/", report_views.report_page, name="report"),
    path("report.md", report_views.report_download, name="report_markdown"),
    path("proposals/", proposal_views.proposals_page, name="proposals"),
    path("proposals/items/", proposal_views.item_propose, name="item_propose"),
    path("proposals/items/<slug:slug>/accept/", proposal_views.item_accept, name="item_accept"),
    path("proposals/items/<slug:slug>/reject/", proposal_views.item_reject, name="item_reject"),
    path("proposals/stakeholders/", proposal_views.stakeholder_propose, name="stakeholder_propose"),
    path(
        "proposals/stakeholders/<slug:slug>/accept/",
        proposal_views.stakeholder_accept,
        name="stakeholder_accept",
    ),
    path("proposals/joins/", proposal_views.join_request_create, name="join_request_create"),
    path(
        "proposals/joins/<int:pk>/accept/",
        proposal_views.join_request_accept,
        name="join_request_accept",
    ),
    path(
        "proposals/joins/<int:pk>/reject/",
        proposal_views.join_request_reject,
        name="join_request_reject",
    ),
    path("activity/", proposal_views.activity, name="activity"),
    path("accounts/login/", api_pages.ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/tokens/", api_pages.tokens, name="api-tokens"),
    path("accounts/tokens/<str:digest>/revoke/", api_pages.token_revoke, name="api-token-revoke"),
    path("api/v1/", include("roadmap.api.urls")),
    path("admin/", admin.site.urls),
    path("", include("probes.urls")),
]

# Unknown URLs under /api/ answer in the API's error format; pages keep Django's.
handler404 = "roadmap.api.errors.not_found"
