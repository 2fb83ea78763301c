"""Bulk packages for the benchmarks, written set-based (INSERT … SELECT FROM generate_series) on PostgreSQL.

The rows are what the services would have written: for each package an order (paid by card), its order
line, the package and its lines, a grant entry per line, the sale and payment journal entries, and,
depending on the package's story, redemptions (each with its REDEEM entry and recognition entry), a
pending hold, an expiry already swept (EXPIRE entries and a breakage entry) or a closure (CANCEL
entries and a breakage entry). Cached line balances equal their session entries, every journal entry
balances, deferred-revenue postings are tagged by package line: `punchcard reconcile` passes.

Stories (share of the packages, "today" being the sweep's as-of date):

    active      40 %  started, not expired; 0-2 sessions used per line; 1 in 20 has a booked (pending) hold
    due         10 %  past the last usable day (grace included), sessions left, not swept yet: the sweep's work
    exhausted   10 %  every session used
    swept       15 %  expired long ago; the sweep forfeited the rest (breakage posted)
    closed       5 %  completed or cancelled by staff (breakage posted)
    scheduled    5 %  bought, starting in the next two months
    grace        5 %  soft expiry, past the last day but within the grace days (not due)
    noexpiry    10 %  no expiry, or after-first-use and never used

Ids are explicit (above the current maxima; the identity sequences are moved past them afterwards), so
one package's rows can be derived from its number without lookups. During the load the tables'
secondary indexes are dropped and rebuilt afterwards, and triggers (foreign keys, the journal balance
trigger) are off (session_replication_role = replica): the data is consistent by construction, and the
smoke test runs `reconcile` on it.
"""

from __future__ import annotations

import datetime as dt
import json
import time

from django.apps import apps
from django.db import connection, transaction

MIXED = [  # story, percent, plan codes it can be sold from
    ("active", 40, ["physio-10", "wellness-combo", "yoga-24", "family-pilates-20", "massage-5"]),
    ("due", 10, ["physio-10", "wellness-combo", "yoga-24", "family-pilates-20"]),
    ("exhausted", 10, ["massage-5"]),
    ("swept", 15, ["physio-10", "wellness-combo", "yoga-24", "family-pilates-20"]),
    ("closed", 5, ["physio-10", "wellness-combo", "yoga-24", "massage-5"]),
    ("scheduled", 5, ["physio-10", "wellness-combo", "yoga-24", "family-pilates-20"]),
    ("grace", 5, ["wellness-combo", "family-pilates-20"]),
    ("noexpiry", 10, ["massage-5", "chiro-8"]),
]
REDEEM_SET = [("redeem", 100, ["class-pack-50"])]  # active class packs with 48 sessions left, used twice before
MAX_LINES = 2
STEPS: dict[str, float] = {}  # seconds per table written, for the curious (returned with the counts)
PACKAGES_PER_PATIENT = 2.5

MODELS = {  # short name → app label.Model
    "patient": "tenancy.Patient",
    "order": "billing.Order",
    "orderline": "billing.OrderLine",
    "payment": "billing.Payment",
    "package": "packages.Package",
    "line": "packages.PackageLine",
    "beneficiary": "packages.Beneficiary",
    "hold": "packages.Hold",
    "redemption": "packages.Redemption",
    "entry": "packages.SessionEntry",
    "journal": "ledger.JournalEntry",
    "posting": "ledger.Posting",
}


def _model(name):
    return apps.get_model(MODELS[name])


def _table(name) -> str:
    return _model(name)._meta.db_table


def _insert(cur, name: str, columns: dict[str, str], source: str, params: dict) -> int:
    """INSERT INTO <table> (columns) SELECT <expressions> <source>.

    A column added to the model later (by a migration this generator does not know about) is filled with
    the field's Python default, so the generator keeps working; a new required column without a default
    is an error that names it.
    """
    from psycopg.types.json import Jsonb

    model = _model(name)
    extra = {}
    for field in model._meta.concrete_fields:
        if field.column in columns:
            continue
        if field.null:
            continue
        if not field.has_default():
            raise RuntimeError(
                f"bench.datagen: {model._meta.label}.{field.name} is required and has no default; "
                "teach the generator about it"
            )
        value = field.get_default()
        extra[field.column] = Jsonb(value) if field.get_internal_type() == "JSONField" else value
    names = list(columns) + list(extra)
    exprs = list(columns.values()) + [f"%(x_{name}_{c})s" for c in extra]
    params = {**params, **{f"x_{name}_{c}": v for c, v in extra.items()}}
    started = time.perf_counter()
    cur.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) SELECT {', '.join(exprs)} {source}", params)
    STEPS[name] = STEPS.get(name, 0.0) + time.perf_counter() - started
    return cur.rowcount


def _max_id(cur, name: str) -> int:
    cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_table(name)}")
    return cur.fetchone()[0]


def _secondary_indexes(cur, tables: list[str]) -> list[tuple[str, str]]:
    """(name, definition) of every index on these tables that no constraint owns."""
    cur.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        ORDER BY i.tablename, i.indexname""",
        [tables],
    )
    return cur.fetchall()


def generate(
    *,
    fixture: dict,
    today: dt.date,
    packages: int,
    stories=None,
    tag: str = "m",
    salt: int = 0,
    rebuild_indexes: bool | None = None,
) -> dict:
    """Write `packages` packages of the fixture's tenant (see the module docstring). Returns row counts."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the bulk generator writes PostgreSQL SQL")
    stories = stories or MIXED
    if sum(p for _, p, _ in stories) != 100:
        raise ValueError("story percentages must sum to 100")
    plans = fixture["plans"]
    codes = list(plans)
    if rebuild_indexes is None:
        rebuild_indexes = packages >= 50_000
    started = time.perf_counter()
    counts: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("SET LOCAL jit = off")  # compiling each big INSERT … SELECT costs more than it saves here
        tables = [_table(n) for n in MODELS]
        dropped = _secondary_indexes(cur, tables) if rebuild_indexes else []
        for name, _ in dropped:
            cur.execute(f'DROP INDEX "{name}"')
        base = {n: _max_id(cur, n) for n in MODELS}
        cur.execute(
            f"SELECT COALESCE(MAX(number), 0) FROM {_table('order')} WHERE tenant_id = %s", [fixture["tenant_id"]]
        )
        number_base = cur.fetchone()[0]

        for ddl in (
            "CREATE TEMP TABLE bench_plan (idx int PRIMARY KEY, version_id bigint, name text, gross bigint, net bigint,"
            " tax bigint, expiry jsonb, mode text, grace int, days int, kind text, list_total bigint, shareable bool)",
            "CREATE TEMP TABLE bench_plan_line (idx int, line_no int, plan_line_id bigint, label text,"
            " service_ids jsonb, service_id bigint, list_price bigint, granted int, value bigint)",
            "CREATE TEMP TABLE bench_centre (idx int, id bigint, zone text)",
            "CREATE TEMP TABLE bench_story (story text, lo int, hi int, plans int[])",
            "CREATE TEMP TABLE bench_account (role text PRIMARY KEY, id bigint)",
        ):
            cur.execute(ddl + " ON COMMIT DROP")
        for idx, code in enumerate(codes):
            p = plans[code]
            if len(p["lines"]) > MAX_LINES:
                raise ValueError(f"plan {code} has more than {MAX_LINES} lines")
            cur.execute(
                "INSERT INTO bench_plan VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s)",
                [
                    idx,
                    p["version_id"],
                    p["name"],
                    p["gross"],
                    p["net"],
                    p["tax"],
                    json.dumps(p["expiry"]),
                    p["mode"],
                    p["grace"],
                    p["days"],
                    p["kind"],
                    sum(line["list_price"] * line["granted"] for line in p["lines"]),
                    code.startswith("family"),
                ],
            )
            for n, line in enumerate(p["lines"]):
                cur.execute(
                    "INSERT INTO bench_plan_line VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s)",
                    [
                        idx,
                        n,
                        line["plan_line_id"],
                        line["label"],
                        json.dumps(line["service_ids"]),
                        line["service_ids"][0],
                        line["list_price"],
                        line["granted"],
                        line["value"],
                    ],
                )
        for idx, centre in enumerate(fixture["centres"].values()):
            cur.execute("INSERT INTO bench_centre VALUES (%s, %s, %s)", [idx, centre["id"], centre["zone"]])
        low = 0
        for story, percent, story_plans in stories:
            cur.execute(
                "INSERT INTO bench_story VALUES (%s, %s, %s, %s)",
                [story, low, low + percent, [codes.index(c) for c in story_plans]],
            )
            low += percent
        for role, account_id in fixture["accounts"].items():
            cur.execute("INSERT INTO bench_account VALUES (%s, %s)", [role, account_id])

        n_patients = max(1, int(packages / PACKAGES_PER_PATIENT))
        params = {
            "n": packages,
            "npat": n_patients,
            "salt": salt,
            "t0": today,
            "tenant": fixture["tenant_id"],
            "currency": fixture["currency"],
            "ncentres": len(fixture["centres"]),
            "tag": tag,
            "number_base": number_base,
            **{f"{k}_base": v for k, v in base.items()},
        }

        # ---- patients
        counts["patients"] = _insert(
            cur,
            "patient",
            {
                "id": "%(patient_base)s + j",
                "tenant_id": "%(tenant)s",
                "external_ref": "'B' || %(tag)s || '-' || j",
                "name": "'Bench patient ' || %(tag)s || j",
                "email": "''",
                "phone": "''",
                "created_at": "(%(t0)s::date - 800)::timestamp AT TIME ZONE 'UTC'",
            },
            "FROM generate_series(1, %(npat)s) AS j",
            params,
        )

        # ---- one row per package: its story, plan, holder, centre and dates
        cur.execute(
            """
            CREATE TEMP TABLE bp ON COMMIT DROP AS
            WITH draw AS (
              SELECT i, abs(hashint8(i::bigint * 7 + %(salt)s))::bigint AS h,
                     (abs(hashint8(i::bigint * 13 + %(salt)s)) %% 100)::int AS pct
              FROM generate_series(1, %(n)s) AS i
            ), story AS (
              SELECT d.*, s.story, s.plans[1 + (d.h %% array_length(s.plans, 1))::int] AS plan_idx
              FROM draw d JOIN bench_story s ON d.pct >= s.lo AND d.pct < s.hi
            ), dated AS (
              SELECT s.*, p.days, p.grace, p.kind, p.shareable, ce.id AS centre_id, ce.zone,
                     %(patient_base)s + 1 + abs(hashint8(s.i::bigint * 31 + %(salt)s)) %% %(npat)s AS holder_id,
                     CASE s.story
                       WHEN 'active' THEN CASE WHEN p.kind = 'none' THEN NULL
                                               ELSE %(t0)s::date + 1 + (s.h %% (p.days - 30))::int END
                       WHEN 'due' THEN %(t0)s::date - 1 - p.grace - (s.h %% 60)::int
                       WHEN 'swept' THEN %(t0)s::date - 31 - p.grace - (s.h %% 200)::int
                       WHEN 'grace' THEN %(t0)s::date - 1 - (s.h %% p.grace)::int
                       WHEN 'redeem' THEN %(t0)s::date + p.days - 31
                     END AS exp0,
                     CASE s.story
                       WHEN 'active' THEN CASE WHEN p.kind = 'none' THEN %(t0)s::date - 30 - (s.h %% 300)::int END
                       WHEN 'exhausted' THEN %(t0)s::date - 60 - (s.h %% 200)::int
                       WHEN 'closed' THEN %(t0)s::date - 30 - (s.h %% 200)::int
                       WHEN 'scheduled' THEN %(t0)s::date + 1 + (s.h %% 60)::int
                       WHEN 'noexpiry' THEN %(t0)s::date - 30 - (s.h %% 300)::int
                     END AS start0
              FROM story s JOIN bench_plan p ON p.idx = s.plan_idx
                   JOIN bench_centre ce ON ce.idx = (s.h / 7) %% %(ncentres)s
            )
            SELECT i, %(package_base)s + i AS id, story, h, plan_idx, days, grace, kind, shareable, centre_id, zone,
                   holder_id, start_date,
                   CASE WHEN exp0 IS NOT NULL THEN exp0
                        WHEN kind = 'after_start' THEN start_date + days - 1 END AS expires_on,
                   least(start_date, %(t0)s::date - 1) - (h %% 3)::int AS purchased_on,
                   (story = 'active' AND h %% 20 = 0) OR (story = 'due' AND h %% 10 = 3) AS has_hold,
                   CASE WHEN story = 'closed' THEN CASE WHEN h %% 2 = 0 THEN 'cancelled' ELSE 'completed' END
                   END AS closure
            FROM (SELECT d.*, COALESCE(d.start0, d.exp0 - d.days + 1) AS start_date FROM dated d) x
        """,
            params,
        )
        cur.execute("ALTER TABLE bp ADD PRIMARY KEY (i)")
        cur.execute("ANALYZE bp")

        # ---- one row per package line: sessions used, held, forfeited, and the value left
        cur.execute(
            """
            CREATE TEMP TABLE bl ON COMMIT DROP AS
            SELECT y.*, y.value - y.rec - y.fv AS dv FROM (
              SELECT x.*, CASE WHEN x.story IN ('swept', 'closed') THEN x.granted - x.r ELSE 0 END AS f,
                     CASE WHEN x.story IN ('swept', 'closed') THEN x.value - x.rec ELSE 0 END AS fv
              FROM (
                SELECT w.*, w.r * w.u + least(w.r, w.rmd) AS rec FROM (
                  SELECT bp.i, bp.id AS package_id, bp.story, bp.h, bp.kind, bp.start_date, bp.expires_on, bp.grace,
                         bp.zone, bp.centre_id, bp.holder_id, bp.closure,
                         (bp.has_hold AND pl.line_no = 0) AS has_hold,
                         %(line_base)s + (bp.i - 1) * 2 + pl.line_no + 1 AS id, (bp.i - 1) * 2 + pl.line_no AS seq,
                         pl.line_no, pl.plan_line_id, pl.label, pl.service_ids, pl.service_id, pl.list_price,
                         pl.granted, pl.value, pl.value / pl.granted AS u, pl.value %% pl.granted AS rmd,
                         CASE bp.story
                           WHEN 'exhausted' THEN pl.granted
                           WHEN 'scheduled' THEN 0
                           WHEN 'redeem' THEN 2
                           WHEN 'noexpiry' THEN CASE WHEN bp.kind = 'none'
                                                     THEN abs(hashint8(bp.i * 17 + pl.line_no + %(salt)s)) %% 3
                                                     ELSE 0 END
                           ELSE abs(hashint8(bp.i * 17 + pl.line_no + %(salt)s))
                                %% (least(2, pl.granted - 2) + 1)
                         END::int AS r
                  FROM bp JOIN bench_plan_line pl ON pl.idx = bp.plan_idx
                ) w
              ) x
            ) y
        """,
            params,
        )
        cur.execute("ALTER TABLE bl ADD PRIMARY KEY (id)")
        cur.execute("CREATE INDEX ON bl (i)")
        cur.execute("ANALYZE bl")
        cur.execute(
            """
            CREATE TEMP TABLE bpx ON COMMIT DROP AS
            SELECT bp.*, p.version_id, p.name AS plan_name, p.gross, p.net, p.tax, p.expiry, p.mode, p.list_total,
                   %(orderline_base)s + bp.i AS order_line_id, %(order_base)s + bp.i AS order_id,
                   %(number_base)s + bp.i AS number, %(payment_base)s + bp.i AS payment_id,
                   (bp.purchased_on + time '10:15') AT TIME ZONE bp.zone AS activated_at,
                   CASE WHEN agg.maxr > 0 THEN bp.start_date + 3 END AS first_used_on,
                   CASE WHEN bp.closure IS NOT NULL THEN (bp.start_date + 20 + time '15:00') AT TIME ZONE bp.zone
                   END AS closed_at,
                   CASE WHEN bp.story = 'swept' THEN (bp.expires_on + bp.grace + 1 + time '00:30') AT TIME ZONE bp.zone
                   END AS swept_at,
                   agg.fv AS breakage
            FROM bp JOIN bench_plan p ON p.idx = bp.plan_idx
                 JOIN (SELECT i, max(r) AS maxr, sum(fv) AS fv FROM bl GROUP BY i) agg ON agg.i = bp.i
        """,
            params,
        )
        cur.execute("ALTER TABLE bpx ADD PRIMARY KEY (i)")
        cur.execute("ANALYZE bpx")

        # ---- orders, order lines, payments
        counts["orders"] = _insert(
            cur,
            "order",
            {
                "id": "order_id",
                "tenant_id": "%(tenant)s",
                "number": "number",
                "patient_id": "holder_id",
                "centre_id": "centre_id",
                "currency": "%(currency)s",
                "status": "'paid'",
                "net": "net",
                "tax": "tax",
                "gross": "gross",
                "discount": "0",
                "credit_applied": "0",
                "paid": "gross",
                "idempotency_key": "NULL",
                "request_hash": "''",
                "created_at": "activated_at",
                "created_by": "'bench'",
                "credited_staff_id": "NULL",
            },
            "FROM bpx",
            params,
        )
        _insert(
            cur,
            "orderline",
            {
                "id": "order_line_id",
                "order_id": "order_id",
                "kind": "'package'",
                "plan_version_id": "version_id",
                "start_date": "start_date",
                "list_total": "list_total",
                "discount": "0",
                "net": "net",
                "tax": "tax",
                "gross": "gross",
                "promotion": "'{}'::jsonb",
                "target_package_id": "NULL",
                "target_line_id": "NULL",
                "sessions": "0",
            },
            "FROM bpx",
            params,
        )
        _insert(
            cur,
            "payment",
            {
                "id": "payment_id",
                "tenant_id": "%(tenant)s",
                "order_id": "order_id",
                "method": "'card'",
                "amount": "gross",
                "reference": "''",
                "received_at": "activated_at",
                "recorded_by": "'bench'",
                "idempotency_key": "NULL",
            },
            "FROM bpx",
            params,
        )

        # ---- packages, lines, beneficiaries, holds
        counts["packages"] = _insert(
            cur,
            "package",
            {
                "id": "id",
                "tenant_id": "%(tenant)s",
                "holder_id": "holder_id",
                "plan_version_id": "version_id",
                "order_line_id": "order_line_id",
                "sold_at_id": "centre_id",
                "currency": "%(currency)s",
                "price_gross": "gross",
                "price_net": "net",
                "purchased_on": "purchased_on",
                "start_date": "start_date",
                "expiry": "expiry",
                "expiry_mode": "mode",
                "grace_days": "grace",
                "expires_on": "expires_on",
                "expiry_overridden": "false",
                "first_used_on": "first_used_on",
                "closure": "closure",
                "closed_at": "closed_at",
                "closed_by": "CASE WHEN closure IS NULL THEN '' ELSE 'bench' END",
                "closed_reason": "CASE WHEN closure IS NULL THEN '' ELSE 'treatment plan changed' END",
                "credited_staff_id": "NULL",
                "upgraded_to_id": "NULL",
                "activated_at": "activated_at",
            },
            "FROM bpx",
            params,
        )
        counts["lines"] = _insert(
            cur,
            "line",
            {
                "id": "id",
                "tenant_id": "%(tenant)s",
                "package_id": "package_id",
                "plan_line_id": "plan_line_id",
                "label": "label",
                "service_ids": "service_ids",
                "list_price": "list_price",
                "patient_pays": "0",
                "granted": "granted",
                "redeemed": "r",
                "held": "has_hold::int",
                "forfeited": "f",
                "deferred_value": "dv",
            },
            "FROM bl",
            params,
        )
        counts["beneficiaries"] = _insert(
            cur,
            "beneficiary",
            {
                "id": "%(beneficiary_base)s + i",
                "tenant_id": "%(tenant)s",
                "package_id": "id",
                "patient_id": "%(patient_base)s + 1 + (holder_id - %(patient_base)s) %% %(npat)s",
                "added_at": "activated_at + interval '1 day'",
                "added_by": "'bench'",
                "removed_at": "NULL",
                "removed_by": "''",
            },
            "FROM bpx WHERE shareable AND h %% 2 = 0 AND %(npat)s > 1",
            params,
        )
        cur.execute(
            """
            CREATE TEMP TABLE bh ON COMMIT DROP AS
            SELECT z.*, ((z.hold_day - 3) + time '09:00') AT TIME ZONE z.zone AS placed_at FROM (
              SELECT bl.*, %(hold_base)s + bl.i AS hid,
                     CASE WHEN story = 'due' THEN expires_on - 1 ELSE %(t0)s::date + 1 + (h %% 10)::int END AS hold_day
              FROM bl WHERE has_hold) z
        """,
            params,
        )
        cur.execute("ANALYZE bh")
        counts["holds"] = _insert(
            cur,
            "hold",
            {
                "id": "hid",
                "tenant_id": "%(tenant)s",
                "package_id": "package_id",
                "line_id": "id",
                "service_id": "service_id",
                "centre_id": "centre_id",
                "person_id": "holder_id",
                "practitioner_id": "NULL",
                "appointment_id": "NULL",
                "day": "hold_day",
                "sessions": "1",
                "state": "'pending'",
                "placed_at": "placed_at",
                "placed_by": "'bench'",
                "resolved_at": "NULL",
                "resolved_by": "''",
                "idempotency_key": "NULL",
            },
            "FROM bh",
            params,
        )

        # ---- redemptions: session k of a line on start + 3 + 7k, worth its largest-remainder share
        cur.execute(
            """
            CREATE TEMP TABLE br ON COMMIT DROP AS
            SELECT bl.*, k, %(redemption_base)s + bl.seq * 8 + k + 1 AS rid,
                   bl.start_date + 3 + 7 * k AS day,
                   ((bl.start_date + 3 + 7 * k) + time '11:00') AT TIME ZONE bl.zone AS at,
                   bl.u + CASE WHEN k < bl.rmd THEN 1 ELSE 0 END AS rv
            FROM bl, generate_series(0, bl.r - 1) AS k
        """,
            params,
        )
        cur.execute("ANALYZE br")
        counts["redemptions"] = _insert(
            cur,
            "redemption",
            {
                "id": "rid",
                "tenant_id": "%(tenant)s",
                "package_id": "package_id",
                "line_id": "id",
                "service_id": "service_id",
                "centre_id": "centre_id",
                "person_id": "holder_id",
                "practitioner_id": "NULL",
                "appointment_id": "NULL",
                "hold_id": "NULL",
                "day": "day",
                "at": "at",
                "sessions": "1",
                "value": "rv",
                "in_grace": "false",
                "redeemed_by": "'bench'",
                "idempotency_key": "NULL",
                "voided_at": "NULL",
                "voided_by": "''",
                "void_reason": "''",
                "void_approver_id": "NULL",
            },
            "FROM br",
            params,
        )

        # ---- session ledger: grant, redeem × r, hold, expire / cancel
        entry = {
            "tenant_id": "%(tenant)s",
            "package_id": "package_id",
            "line_id": "id",
            "reverses_id": "NULL",
            "granted": "0",
            "redeemed": "0",
            "held": "0",
            "forfeited": "0",
            "value": "0",
            "hold_id": "NULL",
            "redemption_id": "NULL",
            "actor": "'bench'",
            "source": "'bench'",
            "reason": "''",
            "data": "'{}'::jsonb",
        }
        n = _insert(
            cur,
            "entry",
            {
                **entry,
                "id": "%(entry_base)s + seq * 16 + 1",
                "kind": "'grant'",
                "granted": "granted",
                "value": "value",
                "at": "activated_at",
                "data": "jsonb_build_object('order', number)",
            },
            "FROM bl JOIN (SELECT i, activated_at, number FROM bpx) p USING (i)",
            params,
        )
        n += _insert(
            cur,
            "entry",
            {
                **entry,
                "id": "%(entry_base)s + seq * 16 + 2 + k",
                "kind": "'redeem'",
                "redeemed": "1",
                "value": "-rv",
                "redemption_id": "rid",
                "at": "at",
            },
            "FROM br",
            params,
        )
        n += _insert(
            cur,
            "entry",
            {
                **entry,
                "id": "%(entry_base)s + seq * 16 + 12",
                "kind": "'hold'",
                "held": "1",
                "hold_id": "hid",
                "at": "placed_at",
            },
            "FROM bh",
            params,
        )
        n += _insert(
            cur,
            "entry",
            {
                **entry,
                "id": "%(entry_base)s + seq * 16 + 14",
                "kind": "CASE WHEN story = 'swept' THEN 'expire' ELSE 'cancel' END",
                "forfeited": "f",
                "value": "-fv",
                "at": "COALESCE(swept_at, closed_at)",
                "actor": "CASE WHEN story = 'swept' THEN 'sweep' ELSE 'bench' END",
                "source": "CASE WHEN story = 'swept' THEN 'expiry sweep' ELSE 'bench' END",
                "reason": "CASE WHEN story = 'swept' THEN 'expired after ' || expires_on::text "
                "ELSE 'treatment plan changed' END",
            },
            "FROM bl JOIN (SELECT i, swept_at, closed_at FROM bpx) p USING (i) "
            "WHERE story IN ('swept', 'closed') AND (f > 0 OR fv > 0)",
            params,
        )
        counts["session_entries"] = n

        # ---- journal: sale, payment, recognition per redemption, breakage for swept and closed packages
        journal = {
            "tenant_id": "%(tenant)s",
            "currency": "%(currency)s",
            "centre_id": "centre_id",
            "reverses_id": "NULL",
        }
        j = _insert(
            cur,
            "journal",
            {
                **journal,
                "id": "%(journal_base)s + (i - 1) * 16 + 1",
                "at": "activated_at",
                "date": "purchased_on",
                "kind": "'sale'",
                "memo": "plan_name || ' sold on order ' || number",
                "event_type": "'order_line'",
                "event_id": "order_line_id",
                "total_debit": "gross",
                "total_credit": "gross",
            },
            "FROM bpx",
            params,
        )
        j += _insert(
            cur,
            "journal",
            {
                **journal,
                "id": "%(journal_base)s + (i - 1) * 16 + 2",
                "at": "activated_at",
                "date": "purchased_on",
                "kind": "'payment'",
                "memo": "'card payment on order ' || number",
                "event_type": "'payment'",
                "event_id": "payment_id",
                "total_debit": "gross",
                "total_credit": "gross",
            },
            "FROM bpx",
            params,
        )
        j += _insert(
            cur,
            "journal",
            {
                **journal,
                "id": "%(journal_base)s + (i - 1) * 16 + 3 + line_no * 5 + k",
                "at": "at",
                "date": "day",
                "kind": "'redemption'",
                "memo": "'1 × ' || label || ' redeemed, package ' || package_id",
                "event_type": "'redemption'",
                "event_id": "rid",
                "total_debit": "rv",
                "total_credit": "rv",
            },
            "FROM br WHERE rv > 0",
            params,
        )
        j += _insert(
            cur,
            "journal",
            {
                **journal,
                "id": "%(journal_base)s + (i - 1) * 16 + 14",
                "at": "COALESCE(swept_at, closed_at)",
                "date": "(COALESCE(swept_at, closed_at) AT TIME ZONE zone)::date",
                "kind": "'breakage'",
                "memo": "CASE WHEN story = 'swept' THEN 'package ' || id || ' expired with sessions left' "
                "ELSE 'package ' || id || ' ' || closure || ': treatment plan changed' END",
                "event_type": "CASE WHEN story = 'swept' THEN 'package_expiry' "
                "WHEN closure = 'cancelled' THEN 'package_cancel' ELSE 'package_complete' END",
                "event_id": "id",
                "total_debit": "breakage",
                "total_credit": "breakage",
            },
            "FROM bpx WHERE story IN ('swept', 'closed') AND breakage > 0",
            params,
        )
        counts["journal_entries"] = j

        def acct(role):
            return f"(SELECT id FROM bench_account WHERE role = '{role}')"

        posting = {"tenant_id": "%(tenant)s", "centre_id": "centre_id", "patient_id": "holder_id"}
        entry_of = "%(journal_base)s + (i - 1) * 16"
        post_of = "%(posting_base)s + (i - 1) * 64"
        p = _insert(
            cur,
            "posting",
            {
                **posting,
                "id": f"{post_of} + 1",
                "entry_id": f"{entry_of} + 1",
                "account_id": acct("receivable"),
                "amount": "gross",
                "package_id": "id",
                "package_line_id": "NULL",
            },
            "FROM bpx",
            params,
        )
        p += _insert(
            cur,
            "posting",
            {
                **posting,
                "id": f"{post_of} + 2",
                "entry_id": f"{entry_of} + 1",
                "account_id": acct("tax_payable"),
                "amount": "-tax",
                "package_id": "id",
                "package_line_id": "NULL",
            },
            "FROM bpx WHERE tax > 0",
            params,
        )
        p += _insert(
            cur,
            "posting",
            {
                **posting,
                "id": f"{post_of} + 3 + line_no",
                "entry_id": f"{entry_of} + 1",
                "account_id": acct("deferred_revenue"),
                "amount": "-value",
                "package_id": "package_id",
                "package_line_id": "id",
            },
            "FROM bl WHERE value > 0",
            params,
        )
        p += _insert(
            cur,
            "posting",
            {
                **posting,
                "id": f"{post_of} + 5",
                "entry_id": f"{entry_of} + 2",
                "account_id": acct("card_clearing"),
                "amount": "gross",
                "package_id": "NULL",
                "package_line_id": "NULL",
            },
            "FROM bpx",
            params,
        )
        p += _insert(
            cur,
            "posting",
            {
                **posting,
                "id": f"{post_of} + 6",
                "entry_id": f"{entry_of} + 2",
                "account_id": acct("receivable"),
                "amount": "-gross",
                "package_id": "NULL",
                "package_line_id": "NULL",
            },
            "FROM bpx",
            params,
        )
        slot = "(line_no * 5 + k)"
        p += _insert(
            cur,
            "posting",
            {
                **posting,
                "id": f"{post_of} + 7 + 2 * {slot}",
                "entry_id": f"{entry_of} + 3 + {slot}",
                "account_id": acct("deferred_revenue"),
                "amount": "rv",
                "package_id": "package_id",
                "package_line_id": "id",
            },
            "FROM br WHERE rv > 0",
            params,
        )
        p += _insert(
            cur,
            "posting",
            {
                **posting,
                "id": f"{post_of} + 8 + 2 * {slot}",
                "entry_id": f"{entry_of} + 3 + {slot}",
                "account_id": acct("package_revenue"),
                "amount": "-rv",
                "package_id": "package_id",
                "package_line_id": "NULL",
            },
            "FROM br WHERE rv > 0",
            params,
        )
        p += _insert(
            cur,
            "posting",
            {
                **posting,
                "id": f"{post_of} + 30 + line_no",
                "entry_id": f"{entry_of} + 14",
                "account_id": acct("deferred_revenue"),
                "amount": "fv",
                "package_id": "package_id",
                "package_line_id": "id",
            },
            "FROM bl WHERE fv > 0",
            params,
        )
        p += _insert(
            cur,
            "posting",
            {
                **posting,
                "id": f"{post_of} + 33",
                "entry_id": f"{entry_of} + 14",
                "account_id": acct("breakage_revenue"),
                "amount": "-breakage",
                "package_id": "id",
                "package_line_id": "NULL",
            },
            "FROM bpx WHERE story IN ('swept', 'closed') AND breakage > 0",
            params,
        )
        counts["postings"] = p

        # ---- the order counter, identity sequences, indexes, statistics
        cur.execute(
            f"SELECT COALESCE(MAX(number), 0) FROM {_table('order')} WHERE tenant_id = %s", [fixture["tenant_id"]]
        )
        top = cur.fetchone()[0]
        counter = apps.get_model("billing.Counter")
        updated = counter.objects.filter(tenant_id=fixture["tenant_id"], name="order").update(value=top)
        if not updated:
            counter.objects.create(tenant_id=fixture["tenant_id"], name="order", value=top)
        for name in MODELS:
            table = _table(name)
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
            )
        mark = time.perf_counter()
        for _, definition in dropped:
            cur.execute(definition)
        STEPS["indexes"] = time.perf_counter() - mark
    with connection.cursor() as cur:
        for name in MODELS:
            cur.execute(f"ANALYZE {_table(name)}")
    counts["seconds"] = round(time.perf_counter() - started, 2)
    counts["steps"] = {k: round(v, 2) for k, v in STEPS.items()}
    counts["ledger_entries_per_package"] = round(
        (counts["session_entries"] + counts["journal_entries"]) / max(1, counts["packages"]), 2
    )
    return counts


def due_on(today: dt.date) -> str:
    """The as-of date the mixed data set is built around (its 'due' story is past due on it)."""
    return today.isoformat()
