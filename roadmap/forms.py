"""Forms of the roadmap pages (plain HTML forms: they work without JavaScript)."""

from django import forms

from .models import ClaimRole, Stakeholder


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
