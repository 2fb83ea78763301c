# Claim codes now belong to the claims app (claims 0001 takes them over, tables unchanged): remove
# them from promotions' migration state only; the database keeps the tables.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('claims', '0001_initial'),
        ('promotions', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='ClaimCode'),
                migrations.DeleteModel(name='ClaimFailure'),
            ],
            database_operations=[],
        ),
    ]
