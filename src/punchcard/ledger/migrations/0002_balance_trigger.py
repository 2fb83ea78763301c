"""On PostgreSQL, a deferred constraint trigger re-adds every entry's postings at commit.

The entry's own CHECK (total_debit = total_credit) holds on both databases; this trigger also
proves the postings themselves agree with those totals, whatever code wrote them.
"""
from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION ledger_entry_balances() RETURNS trigger AS $$
DECLARE
    total bigint;
    debit bigint;
    expected bigint;
BEGIN
    SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(amount) FILTER (WHERE amount > 0), 0)
      INTO total, debit FROM ledger_posting WHERE entry_id = NEW.entry_id;
    SELECT total_debit INTO expected FROM ledger_journalentry WHERE id = NEW.entry_id;
    IF total <> 0 OR debit <> expected THEN
        RAISE EXCEPTION 'journal entry % does not balance (sum %, debits % of %)', NEW.entry_id, total, debit, expected
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT OR UPDATE ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();
"""

DROP = """
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_entry_balances();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
