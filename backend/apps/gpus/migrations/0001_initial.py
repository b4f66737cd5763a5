# GPUBenchmark moves here from math_core with its table: state only, `gpu_benchmarks` stays as
# math_core.0001 created it (math_core.0002 drops the model from math_core's state).

import django.contrib.postgres.fields
from django.db import migrations, models

from gpubroker.core.contenttypes import content_type_relabel


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("math_core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="GPUBenchmark",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("gpu_model", models.CharField(max_length=64, unique=True)),
                        ("family", models.CharField(blank=True, default="", max_length=64)),
                        ("variant", models.CharField(blank=True, max_length=32, null=True)),
                        ("vendor", models.CharField(max_length=32)),
                        (
                            "architecture",
                            models.CharField(blank=True, default="", max_length=64),
                        ),
                        ("vram_gb", models.FloatField()),
                        ("memory_bandwidth_gbps", models.FloatField(blank=True, null=True)),
                        ("tflops_fp32", models.FloatField(blank=True, null=True)),
                        ("tflops_fp16", models.FloatField(blank=True, null=True)),
                        ("tflops_bf16", models.FloatField(blank=True, null=True)),
                        ("tflops_fp8", models.FloatField(blank=True, null=True)),
                        ("tops_int8", models.FloatField(blank=True, null=True)),
                        ("tdp_watts", models.FloatField(blank=True, null=True)),
                        ("tokens_per_second_7b", models.FloatField(blank=True, null=True)),
                        ("tokens_per_second_13b", models.FloatField(blank=True, null=True)),
                        ("tokens_per_second_70b", models.FloatField(blank=True, null=True)),
                        ("image_gen_per_minute", models.FloatField(blank=True, null=True)),
                        (
                            "aliases",
                            django.contrib.postgres.fields.ArrayField(
                                base_field=models.TextField(),
                                blank=True,
                                default=list,
                                size=None,
                            ),
                        ),
                        ("throughput_model", models.TextField(blank=True, default="")),
                        ("source", models.TextField()),
                        ("verified_at", models.DateField(blank=True, null=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "gpu_benchmarks",
                        "ordering": ["gpu_model"],
                    },
                ),
            ],
        ),
        migrations.RunPython(
            content_type_relabel("gpubenchmark", old_app="math_core", new_app="gpus"),
            reverse_code=content_type_relabel("gpubenchmark", old_app="gpus", new_app="math_core"),
        ),
    ]
