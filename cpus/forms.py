from django import forms
from django.conf import settings

from cpus.cpuid.stack import HostStack, StackError


class ReportUploadForm(forms.Form):
    """Paste a report or choose a file; the format is detected."""

    raw = forms.CharField(
        label="Paste a report",
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 14,
                "spellcheck": "false",
                "placeholder": "cpuid -r, /proc/cpuinfo, AIDA64, virsh capabilities ...",
            }
        ),
    )
    file = forms.FileField(
        label="or choose a file",
        required=False,
        error_messages={
            # Files under /proc report a size of 0, so a browser's file picker sends nothing.
            "empty": "The chosen file is empty. Files under /proc (such as /proc/cpuinfo) show a "
            "size of 0, so browsers send nothing: copy it first (cat /proc/cpuinfo > "
            "cpuinfo.txt) and choose the copy, or paste its text above.",
        },
    )
    host_name = forms.CharField(
        label="Host name (optional)",
        required=False,
        max_length=100,
        help_text="Adds the report to this host in your inventory.",
    )
    qemu_version = forms.CharField(label="QEMU version (optional)", required=False, max_length=64)
    libvirt_version = forms.CharField(
        label="libvirt version (optional)", required=False, max_length=64
    )
    kernel_release = forms.CharField(
        label="Kernel release (optional)", required=False, max_length=128
    )
    microcode = forms.CharField(
        label="Microcode revision (optional)", required=False, max_length=32
    )
    STACK_FIELDS = ("qemu_version", "libvirt_version", "kernel_release", "microcode")

    def stack(self) -> dict:
        """The stack fields filled in (validated in ``clean``)."""
        return {k: self.cleaned_data[k] for k in self.STACK_FIELDS if self.cleaned_data.get(k)}

    def clean(self):
        cleaned = super().clean()
        try:
            HostStack.from_dict({k: cleaned.get(k) or "" for k in self.STACK_FIELDS})
        except StackError as error:
            field, _, message = str(error).partition(": ")
            self.add_error(field if field in self.STACK_FIELDS else None, message or str(error))
        upload = cleaned.get("file")
        if upload is not None and upload.size > settings.CPUKB_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; "
                f"the limit is {settings.CPUKB_MAX_UPLOAD_BYTES:,}."
            )
        raw_size = len(cleaned.get("raw", "").encode("utf-8", "surrogatepass"))
        if raw_size > settings.CPUKB_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The pasted report is {raw_size:,} bytes; "
                f"the limit is {settings.CPUKB_MAX_UPLOAD_BYTES:,}."
            )
        # A field error (e.g. a NUL byte in the pasted text) already says what is wrong.
        if not cleaned.get("raw", "").strip() and upload is None and not self.has_error("raw"):
            raise forms.ValidationError("Paste a report or choose a file.")
        return cleaned

    def report_data(self) -> str | bytes:
        upload = self.cleaned_data.get("file")
        return upload.read() if upload is not None else self.cleaned_data["raw"]
