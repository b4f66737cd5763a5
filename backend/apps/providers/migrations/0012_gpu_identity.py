# Offers written before the GPU identity rules (issue 12) may carry a guessed form factor
# ("A100 80GB" stored as A100 SXM 80GB although the offer's interconnect says PCIe) or be
# quarantined for lack of a spec the catalogue now has (RTX 4070, RTX PRO 6000, ...).
# Re-resolve every ingested offer with the current rules, so an upgraded database lists the
# right models at once instead of after each provider's next sync.

from django.core.management import call_command
from django.db import migrations


def resolve_gpus(apps, schema_editor):
    # Through the command's name rather than an import, as providers.0007 does: the resolution
    # code belongs to the running code base and may move; the command is the stable entry point.
    # It touches only gpu_type, gpu_memory_gb and gpu_model.
    GPUOffer = apps.get_model("providers", "GPUOffer")
    if GPUOffer.objects.using(schema_editor.connection.alias).filter(
        gpu_name_raw__isnull=False
    ).exists():
        print()
        call_command("resolve_gpus")


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0011_per_provider_cadence"),
    ]

    operations = [
        migrations.RunPython(resolve_gpus, reverse_code=migrations.RunPython.noop),
    ]
