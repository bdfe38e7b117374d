"""The roadmap domain: areas, items (a tree), stakeholders, memberships, claims, activity."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Theme(models.TextChoices):
    """The three meanings of "containers" in the 2007 mail."""

    NAMESPACES = "namespaces", "Namespaces"
    PROCESS_CONTAINERS = "process-containers", "Process containers"
    CHECKPOINT_RESTART = "checkpoint-restart", "Checkpoint/restart"


class Area(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    theme = models.CharField(max_length=32, choices=Theme.choices)
    position = models.PositiveIntegerField()
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class ItemStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    MERGED = "merged", "Merged"
    ABANDONED = "abandoned", "Abandoned"


class RoadmapItem(models.Model):
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="items")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField(help_text="Order within its area, depth-first.")
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.PLANNED)
    landed_in = models.CharField(
        max_length=32, blank=True, help_text="Kernel release where it was merged, e.g. 2.6.24."
    )
    description = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["area__position", "position"]

    def __str__(self) -> str:
        return self.title

    @property
    def depth(self) -> int:
        return 0 if self.parent_id is None else 1 + self.parent.depth


class StakeholderKind(models.TextChoices):
    COMPANY = "company", "Company"
    PROJECT = "project", "Project"
    INDIVIDUAL = "individual", "Individual"
    LAB = "lab", "Lab"


class StakeholderState(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"


class Stakeholder(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=StakeholderKind.choices)
    contact = models.CharField(max_length=200, blank=True)
    contact_uncertain = models.BooleanField(
        default=False, help_text='The source names the contact with a doubt ("Name?").'
    )
    state = models.CharField(
        max_length=16, choices=StakeholderState.choices, default=StakeholderState.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.CASCADE, related_name="memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "stakeholder"], name="one_membership_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.stakeholder}"


class ClaimRole(models.TextChoices):
    LEAD = "lead", "Lead"
    CONTRIBUTOR = "contributor", "Contributor"
    REVIEWER = "reviewer", "Reviewer"
    INTERESTED = "interested", "Interested"


class Claim(models.Model):
    item = models.ForeignKey(RoadmapItem, on_delete=models.PROTECT, related_name="claims")
    stakeholder = models.ForeignKey(Stakeholder, on_delete=models.PROTECT, related_name="claims")
    role = models.CharField(max_length=16, choices=ClaimRole.choices)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["item__area__position", "item__position", "stakeholder__name"]
        constraints = [
            # The race-proof rule: two simultaneous claims end as one row.
            models.UniqueConstraint(
                fields=["item", "stakeholder"],
                condition=Q(released_at__isnull=True),
                name="one_active_claim_per_item_and_stakeholder",
            )
        ]
        permissions = [("act_for_any_stakeholder", "Can claim and release for any stakeholder")]

    def __str__(self) -> str:
        return f"{self.stakeholder} {self.role} on {self.item}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class Verb(models.TextChoices):
    CLAIMED = "claimed", "claimed"
    ROLE_CHANGED = "role_changed", "changed role on"
    RELEASED = "released", "released"
    ITEM_PROPOSED = "item_proposed", "proposed item"
    ITEM_STATUS_CHANGED = "item_status_changed", "changed status of"
    STAKEHOLDER_PROPOSED = "stakeholder_proposed", "proposed stakeholder"
    STAKEHOLDER_ACCEPTED = "stakeholder_accepted", "accepted stakeholder"
    MEMBERSHIP_ADDED = "membership_added", "joined"


class ActivityEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ANN003 - Django's signature
        raise TypeError("activity events are append-only")

    def delete(self):
        raise TypeError("activity events are append-only")


class ActivityEvent(models.Model):
    """Append-only: who did what, when. Never updated or deleted."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=32, choices=Verb.choices)
    item = models.ForeignKey(
        RoadmapItem, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    stakeholder = models.ForeignKey(
        Stakeholder, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    data = models.JSONField(default=dict, blank=True)

    objects = ActivityEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.get_verb_display()}"

    def save(self, *args, **kwargs):  # noqa: ANN002,ANN003
        if self.pk is not None:
            raise TypeError("activity events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # noqa: ANN002,ANN003
        raise TypeError("activity events are append-only")


class JoinRequest(models.Model):
    """A user asks to act for a stakeholder; a maintainer decides (accepting adds a Membership)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="join_requests"
    )
    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.CASCADE, related_name="join_requests"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    accepted = models.BooleanField(null=True, blank=True, help_text="Empty until decided.")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Asking twice while the first request is open ends as one row.
            models.UniqueConstraint(
                fields=["user", "stakeholder"],
                condition=Q(decided_at__isnull=True),
                name="one_open_join_request_per_pair",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} asks to join {self.stakeholder}"
