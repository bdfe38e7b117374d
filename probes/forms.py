"""Forms of the probes pages."""

import json

from django import forms

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
