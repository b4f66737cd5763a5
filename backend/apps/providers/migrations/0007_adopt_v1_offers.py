# v1's offers carry only the provider's GPU string; v2 lists an offer once it has a canonical
# GPU. Resolve them now, so an adopted database lists its offers right after `migrate`.

from django.core.management import call_command
from django.db import migrations


def adopt_v1_offers(apps, schema_editor):
    # Only a database with rows no v2 ingestion wrote (gpu_name_raw NULL: v1's) runs the step.
    # It runs through the command's name rather than an import: the resolution code (the GPU
    # catalogue, ingestion's normalisation) belongs to the running code base and may move, the
    # command is the stable entry point. It touches only the columns it names.
    GPUOffer = apps.get_model("providers", "GPUOffer")
    if GPUOffer.objects.using(schema_editor.connection.alias).filter(
        gpu_name_raw__isnull=True
    ).exists():
        print()
        call_command("adopt_v1")


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0006_adopt_v1_schema"),
    ]

    operations = [
        migrations.RunPython(adopt_v1_offers, reverse_code=migrations.RunPython.noop),
    ]
