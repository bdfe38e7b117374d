"""Django admin for the roadmap domain; claims change only through the service layer."""

from django.contrib import admin

from .models import ActivityEvent, Area, Claim, Membership, RoadmapItem, Stakeholder


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("position", "title", "theme")
    prepopulated_fields = {"slug": ("title",)}


@admin.register(RoadmapItem)
class RoadmapItemAdmin(admin.ModelAdmin):
    list_display = ("title", "area", "parent", "status", "landed_in")
    list_filter = ("area", "status")
    search_fields = ("title", "notes", "description")
    list_select_related = ("area", "parent")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Stakeholder)
class StakeholderAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "contact", "contact_uncertain", "state")
    list_filter = ("kind", "state")
    search_fields = ("name", "contact")
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "stakeholder", "created_at")
    list_select_related = ("user", "stakeholder")


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    """Read-only: claims are written by roadmap.services.claims so activity is logged."""

    list_display = ("item", "stakeholder", "role", "created_by", "created_at", "released_at")
    list_filter = ("role", "stakeholder")
    list_select_related = ("item", "stakeholder", "created_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ActivityEvent)
class ActivityEventAdmin(admin.ModelAdmin):
    """Append-only log: viewable, never edited."""

    list_display = ("at", "actor", "verb", "item", "stakeholder")
    list_filter = ("verb",)
    list_select_related = ("actor", "item", "stakeholder")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
