"""On PostgreSQL, the function a one-statement redemption or hold reads its package's state through.

A statement sees the data as of its start; a statement that waited for the package's lock would read
lines, holds and uses older than the lock. A VOLATILE function takes a fresh snapshot for each query it
runs, so called after the lock (in the locking statement's projection) it reads what the lock protects as
it is now: the lines, the live uses (for caps and the minimum gap, when the plan has either), the
redemption or hold already made with the request's idempotency key, the hold being posted or released,
the holder and whether the person is a live beneficiary. Reads only; no rule is decided here.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION packages_state_after_lock(
    p_package bigint, p_tenant bigint, p_person bigint, p_with_uses boolean,
    p_redemption_key text, p_hold_key text, p_hold bigint
) RETURNS json LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    state json;
BEGIN
    SELECT json_build_object(
        'lines', (SELECT json_agg(l ORDER BY l.id) FROM packages_packageline l WHERE l.package_id = p_package),
        'holder', (SELECT row_to_json(h) FROM tenancy_patient h
                   WHERE h.id = (SELECT holder_id FROM packages_package WHERE id = p_package)),
        'beneficiary', p_person IS NOT NULL AND EXISTS (
            SELECT 1 FROM packages_beneficiary b
            WHERE b.package_id = p_package AND b.patient_id = p_person AND b.removed_at IS NULL),
        'uses', CASE WHEN p_with_uses THEN (
            SELECT json_agg(json_build_array(u.day, u.sessions) ORDER BY u.kind, u.id) FROM (
                SELECT 1 AS kind, r.id, r.day, r.sessions FROM packages_redemption r
                WHERE r.package_id = p_package AND r.voided_at IS NULL
                UNION ALL
                SELECT 2, h.id, h.day, h.sessions FROM packages_hold h
                WHERE h.package_id = p_package AND h.state = 'pending') u) END,
        'replayed_redemption', CASE WHEN p_redemption_key IS NOT NULL THEN (
            SELECT row_to_json(r) FROM packages_redemption r
            WHERE r.tenant_id = p_tenant AND r.idempotency_key = p_redemption_key) END,
        'replayed_hold', CASE WHEN p_hold_key IS NOT NULL THEN (
            SELECT row_to_json(h) FROM packages_hold h
            WHERE h.tenant_id = p_tenant AND h.idempotency_key = p_hold_key) END,
        'hold', CASE WHEN p_hold IS NOT NULL THEN (
            SELECT row_to_json(h) FROM packages_hold h WHERE h.id = p_hold AND h.tenant_id = p_tenant) END
    ) INTO state;
    RETURN state;
END $$;
"""

DROP = (
    "DROP FUNCTION IF EXISTS packages_state_after_lock(bigint, bigint, bigint, boolean, text, text, bigint);"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("packages", "0002_remindersettings_packagenotice")]
    operations = [migrations.RunPython(forwards, backwards)]
