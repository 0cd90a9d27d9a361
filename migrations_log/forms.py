"""The record-a-migration form: pick hosts or CPU models from the catalog, or paste dumps."""

from __future__ import annotations

import datetime

from django import forms

from cpus.models import CpuModel, Host
from migrations_log.models import Hypervisor, Outcome

GUEST_CPU_HINTS = [
    "host-passthrough",
    "host-model",
    "baseline",
    "Opteron_G2,-rdtscp,-svm",
    "Penryn",
    "Skylake-Server",
]


class RecordForm(forms.Form):
    source_host = forms.ModelChoiceField(
        Host.objects.order_by("name"), required=False, label="Source host"
    )
    source_cpu = forms.ModelChoiceField(
        CpuModel.objects.all(), required=False, label="or source CPU model"
    )
    source_raw = forms.CharField(
        required=False,
        strip=False,
        label="or paste the source's dump",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
    destination_host = forms.ModelChoiceField(
        Host.objects.order_by("name"), required=False, label="Destination host"
    )
    destination_cpu = forms.ModelChoiceField(
        CpuModel.objects.all(), required=False, label="or destination CPU model"
    )
    destination_raw = forms.CharField(
        required=False,
        strip=False,
        label="or paste the destination's dump",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
    guest_cpu = forms.CharField(
        max_length=200,
        initial="host-passthrough",
        help_text="host-passthrough, host-model, baseline, or a named model with +/- features",
        widget=forms.TextInput(attrs={"list": "guest-cpu-hints"}),
    )
    hypervisor = forms.ChoiceField(choices=Hypervisor.choices)
    outcome = forms.ChoiceField(choices=Outcome.choices)
    happened_on = forms.DateField(
        initial=datetime.date.today, widget=forms.DateInput(attrs={"type": "date"})
    )
    qemu_version = forms.CharField(max_length=40, required=False, label="QEMU version")
    libvirt_version = forms.CharField(max_length=40, required=False)
    machine_type = forms.CharField(max_length=60, required=False)
    esxi_version = forms.CharField(max_length=40, required=False, label="ESXi version")
    evc_mode = forms.CharField(max_length=40, required=False, label="EVC mode")
    hyperv_version = forms.CharField(max_length=40, required=False, label="Hyper-V version")
    compatibility_mode = forms.NullBooleanField(
        required=False, label="Hyper-V processor compatibility mode"
    )
    xen_version = forms.CharField(max_length=40, required=False)
    guest_os = forms.CharField(max_length=100, required=False, label="Guest OS")
    downtime_ms = forms.IntegerField(min_value=0, required=False, label="Downtime (ms)")
    error_message = forms.CharField(
        required=False,
        strip=False,
        max_length=65536,
        label="Error message (verbatim)",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
    source_url = forms.URLField(
        max_length=500, required=False, label="Evidence URL", assume_scheme="https"
    )
    notes = forms.CharField(
        required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self):
        cleaned = super().clean()
        for side in ("source", "destination"):
            given = [k for k in ("host", "cpu", "raw") if cleaned.get(f"{side}_{k}")]
            if len(given) != 1:
                self.add_error(
                    f"{side}_host",
                    f"Choose the {side} once: a host, a CPU model, or a pasted dump.",
                )
        return cleaned

    def ref(self, side: str) -> dict:
        if self.cleaned_data.get(f"{side}_host"):
            return {"host": self.cleaned_data[f"{side}_host"].pk}
        if self.cleaned_data.get(f"{side}_cpu"):
            return {"cpu_model": self.cleaned_data[f"{side}_cpu"].pk}
        return {"raw": self.cleaned_data[f"{side}_raw"]}

    def details(self) -> dict:
        skip = {
            "source_host",
            "source_cpu",
            "source_raw",
            "destination_host",
            "destination_cpu",
            "destination_raw",
        }
        return {k: v for k, v in self.cleaned_data.items() if k not in skip and v is not None}
