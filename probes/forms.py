"""Forms of the probes pages."""

import json

from django import forms

from probes.engine.results import Status
from roadmap.models import Area

from .selectors import PARTIAL

MAX_IMPORT_BYTES = 5 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A file signed by `python -m probes.agent sign`.")

    def clean_file(self) -> dict:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError("The file is larger than 5 MiB.")
        try:
            return json.loads(upload.read().decode())
        except (UnicodeDecodeError, ValueError) as err:
            raise forms.ValidationError(f"The file is not JSON: {err}") from None


class MatrixFilterForm(forms.Form):
    area = forms.ModelChoiceField(
        queryset=Area.objects.order_by("position"), to_field_name="slug", required=False
    )
    status = forms.ChoiceField(
        choices=[("", "any status"), *[(s.value, s.label) for s in Status], (PARTIAL, "Partial")],
        required=False,
    )
    min_version = forms.CharField(required=False, max_length=40, label="From kernel")
    max_version = forms.CharField(required=False, max_length=40, label="To kernel")
    host = forms.CharField(required=False, max_length=63)

    def clean_area(self) -> str | None:
        area = self.cleaned_data.get("area")
        return area.slug if area else None


class RunForm(forms.Form):
    only = forms.CharField(
        required=False,
        max_length=500,
        label="Probes",
        help_text="Globs separated by spaces, e.g. ns.* cg.pids.*; empty for every probe.",
    )
    intrusive = forms.BooleanField(required=False, label="Include intrusive probes")

    def __init__(self, *args, host, **kwargs) -> None:  # noqa: ANN001,ANN002,ANN003
        super().__init__(*args, **kwargs)
        if not host.allow_intrusive:
            del self.fields["intrusive"]

    def clean_only(self) -> list[str]:
        return self.cleaned_data["only"].split()

    def clean(self) -> dict:
        data = super().clean()
        data.setdefault("intrusive", False)
        return data
