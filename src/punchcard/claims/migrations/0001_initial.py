# Claim codes move from promotions to their own app. Their tables stay where they are (`db_table`),
# so this changes the migration state only; promotions 0002 drops them from promotions' state.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('billing', '0003_receipt'),
        ('packages', '0001_initial'),
        ('promotions', '0001_initial'),
        ('tenancy', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ClaimCode',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('bulk', 'Bulk order (a company buys packages for others)'), ('gift', 'Gift (a package bought for someone else)'), ('transfer', 'Transfer of an existing package')], max_length=16)),
                        ('status', models.CharField(choices=[('unpaid', 'Waiting for the order to be paid'), ('open', 'Can be claimed'), ('claimed', 'Claimed'), ('revoked', 'Revoked'), ('expired', 'Expired unclaimed')], max_length=16)),
                        ('digest', models.CharField(max_length=64)),
                        ('hint', models.CharField(max_length=8)),
                        ('deferred_value', models.BigIntegerField(default=0)),
                        ('gross', models.BigIntegerField(default=0)),
                        ('recipient', models.CharField(blank=True, max_length=200)),
                        ('message', models.CharField(blank=True, max_length=500)),
                        ('expires_on', models.DateField(blank=True, null=True)),
                        ('created_at', models.DateTimeField()),
                        ('created_by', models.CharField(max_length=200)),
                        ('opened_at', models.DateTimeField(blank=True, null=True)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('claimed_by', models.CharField(blank=True, max_length=200)),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('closed_by', models.CharField(blank=True, max_length=200)),
                        ('closed_reason', models.TextField(blank=True)),
                        ('reissued', models.PositiveIntegerField(default=0)),
                        ('buyer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.patient')),
                        ('claimant', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.patient')),
                        ('order_line', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='claim_code', to='billing.orderline')),
                        ('package', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='packages.package')),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.tenant')),
                    ],
                    options={
                        'db_table': 'promotions_claimcode',
                        'indexes': [models.Index(fields=['tenant', 'status', 'expires_on'], name='promotions__tenant__754908_idx')],
                        'constraints': [models.UniqueConstraint(fields=('tenant', 'digest'), name='claim_code_digest_unique'), models.CheckConstraint(condition=models.Q(('deferred_value__gte', 0), ('gross__gte', 0)), name='claim_code_amounts_non_negative')],
                    },
                ),
                migrations.CreateModel(
                    name='ClaimFailure',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('bucket', models.CharField(max_length=200)),
                        ('at', models.DateTimeField()),
                        ('code', models.CharField(max_length=32)),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.tenant')),
                    ],
                    options={
                        'db_table': 'promotions_claimfailure',
                        'indexes': [models.Index(fields=['tenant', 'bucket', 'at'], name='promotions__tenant__4887b6_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
