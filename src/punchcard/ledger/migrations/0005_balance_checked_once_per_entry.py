"""On PostgreSQL, the journal's balance is checked once per entry at commit, not once per posting.

0002's deferred constraint trigger ran for every posting inserted, each run re-adding all of its entry's
postings (a redemption's two postings: two runs, each summing both). It now runs once for each new entry,
at commit, when all its postings are written: they must sum to zero and their debits to the entry's
total_debit. Changing a posting afterwards is still re-checked by the per-posting trigger, now on UPDATE
only (nothing in Punchcard updates postings; the journal is append-only). A posting added to an entry
committed earlier is not re-checked here (nothing does that either); `punchcard reconcile` re-adds every
entry.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION ledger_new_entry_balances() RETURNS trigger AS $$
DECLARE
    total bigint;
    debit bigint;
BEGIN
    SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(amount) FILTER (WHERE amount > 0), 0)
      INTO total, debit FROM ledger_posting WHERE entry_id = NEW.id;
    IF total <> 0 OR debit <> NEW.total_debit THEN
        RAISE EXCEPTION 'journal entry % does not balance (sum %, debits % of %)', NEW.id, total, debit, NEW.total_debit
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_new_entry_balances();

DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER UPDATE ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();
"""

DROP = """
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_new_entry_balances();
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT OR UPDATE ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_drop_indexes_composites_cover")]
    operations = [migrations.RunPython(forwards, backwards)]
