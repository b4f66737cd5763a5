# GPUBenchmark now belongs to the gpus app (gpus.0001); its table is untouched.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("math_core", "0001_initial"),
        ("gpus", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="GPUBenchmark")],
        ),
    ]
