"""Forms of the roadmap pages (plain HTML forms: they work without JavaScript)."""

from django import forms
from django.http import QueryDict

from .models import Area, ClaimRole, ItemStatus, RoadmapItem, Stakeholder, StakeholderKind


class ClaimForm(forms.Form):
    stakeholder = forms.ModelChoiceField(queryset=Stakeholder.objects.none(), to_field_name="slug")
    role = forms.ChoiceField(choices=ClaimRole.choices)
    note = forms.CharField(required=False, max_length=500, widget=forms.TextInput)

    def __init__(self, *args, acting_for: list[Stakeholder], **kwargs) -> None:  # noqa: ANN002,ANN003
        super().__init__(*args, **kwargs)
        # Offer only the stakeholders this user acts for; the service checks again.
        self.fields["stakeholder"].queryset = Stakeholder.objects.filter(
            pk__in=[s.pk for s in acting_for]
        )
        if len(acting_for) == 1:  # most members act for one stakeholder: preselect it
            self.fields["stakeholder"].initial = acting_for[0].slug
            self.fields["stakeholder"].empty_label = None


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ClaimRole.choices)


class RoadmapFilterForm(forms.Form):
    """The home page's GET filters; choices come from rows the page reads anyway."""

    area = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *ItemStatus.choices])
    claimed_by = forms.ChoiceField(required=False, label="Claimed by")
    unclaimed = forms.BooleanField(required=False, label="Unclaimed only")

    def __init__(
        self, data: QueryDict, areas: list[Area], stakeholders: list[tuple[str, str]]
    ) -> None:
        super().__init__(data)
        self.fields["area"].choices = [("", "every area"), *((a.slug, a.title) for a in areas)]
        self.fields["claimed_by"].choices = [("", "anyone or no one"), *stakeholders]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("claimed_by") and data.get("unclaimed"):
            raise forms.ValidationError("Choose either a stakeholder or unclaimed only, not both.")
        return data


class ItemProposalForm(forms.Form):
    area = forms.ModelChoiceField(queryset=Area.objects.order_by("position"), to_field_name="slug")
    parent = forms.ModelChoiceField(
        queryset=RoadmapItem.objects.select_related("area").order_by("area__position", "position"),
        to_field_name="slug",
        required=False,
        empty_label="(none: a top-level item)",
        help_text="Optional: the item this one belongs under, in the same area.",
    )
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002,ANN003
        super().__init__(*args, prefix="item", **kwargs)
        self.fields["parent"].label_from_instance = lambda i: f"{i.area.position}. {i.title}"


class StakeholderProposalForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=StakeholderKind.choices)
    contact = forms.CharField(required=False, max_length=200)
    join = forms.BooleanField(required=False, label="I belong to it: ask to join it")

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002,ANN003
        super().__init__(*args, prefix="stakeholder", **kwargs)


class JoinRequestForm(forms.Form):
    stakeholder = forms.ModelChoiceField(
        queryset=Stakeholder.objects.order_by("name"), to_field_name="slug"
    )

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002,ANN003
        super().__init__(*args, prefix="join", **kwargs)
