from django.db import migrations, models


class Migration(migrations.Migration):
    """Keys stored so far are plain SHA-256 digests (keyed=False); new ones are HMAC-SHA256 under the pepper."""

    dependencies = [
        ("tenancy", "0002_patient_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="keyed",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="keyed",
            field=models.BooleanField(default=True),
        ),
    ]
