"""Indexes for finding a patient at the desk (tenancy.selectors.search_patients) among 100,000.

Django's lookups compile to UPPER(col::text) LIKE UPPER(%s) on PostgreSQL and to col LIKE %s (ASCII
case-insensitive) on SQLite, so the indexes are on those expressions:

- PostgreSQL: reference, email and phone with text_pattern_ops (prefix LIKE under any collation), the
  name as trigrams (pg_trgm's GIN: LIKE '%rao%' uses it); the OR of the four is a BitmapOr.
- SQLite: reference, email and phone COLLATE NOCASE (the LIKE optimisation); a name that *contains*
  the text cannot use a b-tree index, so SQLite scans the tenant's names for that one term.
"""

from django.db import migrations

SQL = {
    "postgresql": [
        (
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            None,
        ),
        (
            "CREATE INDEX patient_ref_search ON tenancy_patient (tenant_id, UPPER(external_ref::text) text_pattern_ops)",
            "DROP INDEX patient_ref_search",
        ),
        (
            "CREATE INDEX patient_email_search ON tenancy_patient (tenant_id, UPPER(email::text) text_pattern_ops)",
            "DROP INDEX patient_email_search",
        ),
        (
            "CREATE INDEX patient_phone_search ON tenancy_patient (tenant_id, (phone::text) text_pattern_ops)",
            "DROP INDEX patient_phone_search",
        ),
        (
            "CREATE INDEX patient_name_search ON tenancy_patient USING gin (UPPER(name::text) gin_trgm_ops)",
            "DROP INDEX patient_name_search",
        ),
    ],
    "sqlite": [
        (
            "CREATE INDEX patient_ref_search ON tenancy_patient (tenant_id, external_ref COLLATE NOCASE)",
            "DROP INDEX patient_ref_search",
        ),
        (
            "CREATE INDEX patient_email_search ON tenancy_patient (tenant_id, email COLLATE NOCASE)",
            "DROP INDEX patient_email_search",
        ),
        (
            "CREATE INDEX patient_phone_search ON tenancy_patient (tenant_id, phone COLLATE NOCASE)",
            "DROP INDEX patient_phone_search",
        ),
        (
            "CREATE INDEX patient_name_search ON tenancy_patient (tenant_id, name COLLATE NOCASE)",
            "DROP INDEX patient_name_search",
        ),
    ],
}


def create(apps, schema_editor):
    for forwards, _ in SQL.get(schema_editor.connection.vendor, []):
        schema_editor.execute(forwards)


def drop(apps, schema_editor):
    for _, backwards in reversed(SQL.get(schema_editor.connection.vendor, [])):
        if backwards:
            schema_editor.execute(backwards)


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
