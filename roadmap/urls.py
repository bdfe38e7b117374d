"""URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .api import pages as api_pages

urlpatterns = [
    path("", views.home, name="home"),
    path("items/<slug:slug>/", views.item_detail, name="item_detail"),
    path("items/<slug:slug>/claim/", views.claim_create, name="claim_create"),
    path("claims/<int:pk>/role/", views.claim_role, name="claim_role"),
    path("claims/<int:pk>/release/", views.claim_release, name="claim_release"),
    path("stakeholders/<slug:slug>/", views.stakeholder_detail, name="stakeholder_detail"),
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
