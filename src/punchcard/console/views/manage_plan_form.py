"""A plan's terms as the catalogue form shows and posts them: up to LINES entitlement lines, bonus sessions,
the expiry rule, scope, sharing, blackout dates, caps and tax (SPEC §2). Reading only: the service checks."""

from __future__ import annotations

from punchcard.catalogue.services import LineSpec, PlanTerms
from punchcard.domain.errors import InvalidInput

from . import manage_forms as forms

LINES = 4


def _optional_whole(post, key: str) -> int | None:
    return forms.whole(post.get(key), key) if (post.get(key) or "").strip() else None


def _percent_bp(text: str) -> int:
    text = (text or "0").strip() or "0"
    try:
        return round(float(text) * 100)
    except ValueError:
        raise InvalidInput("give the tax rate as a percentage, like 18", field="tax_rate") from None


def terms_from(post, tenant, base=None) -> PlanTerms:
    """The posted form as the service's PlanTerms; a field it cannot read is refused by its name. Editing,
    what the form does not show (co-pay and top-up price per line, package type, commission policy) is kept
    from the current version `base`."""
    kept = list(base.lines.all()) if base is not None else []
    lines = []
    for i in range(LINES):
        services = [int(s) for s in post.getlist(f"line{i}_services") if s.isdigit()]
        sessions = (post.get(f"line{i}_sessions") or "").strip()
        if not services and not sessions:
            continue
        old = kept[i] if i < len(kept) else None
        lines.append(
            LineSpec(
                service_ids=services,
                sessions=forms.whole(sessions, f"line{i}_sessions"),
                bonus_sessions=forms.whole(post.get(f"line{i}_bonus") or "0", f"line{i}_bonus"),
                label=(post.get(f"line{i}_label") or "").strip(),
                patient_pays=old.patient_pays if old else 0,
                top_up_price=old.top_up_price if old else None,
            )
        )
    kind = post.get("expiry_kind") or "none"
    expiry = {"kind": kind}
    if kind in ("after_start", "after_first_use"):
        expiry.update(
            count=forms.whole(post.get("expiry_count"), "expiry_count"), unit=post.get("expiry_unit") or "days"
        )
    elif kind == "fixed_date":
        expiry["fixed_date"] = forms.day(post.get("expiry_date"), "expiry_date")
    blackout = [forms.day(d, "blackout_dates") for d in (post.get("blackout_dates") or "").replace(",", " ").split()]
    return PlanTerms(
        name=post.get("name", ""),
        price=forms.amount(tenant, post.get("price", ""), "price") or 0,
        lines=lines,
        description=post.get("description", ""),
        tax_rate_bp=_percent_bp(post.get("tax_rate")),
        tax_inclusive=post.get("tax_inclusive") == "on",
        expiry=expiry,
        expiry_mode=post.get("expiry_mode") or "hard",
        grace_days=forms.whole(post.get("grace_days") or "0", "grace_days"),
        scope=post.get("scope") or "single",
        centre_ids=[int(c) for c in post.getlist("centre_ids") if c.isdigit()],
        shareable=post.get("shareable") == "on",
        max_beneficiaries=forms.whole(post.get("max_beneficiaries") or "1", "max_beneficiaries"),
        transferable=post.get("transferable") == "on",
        blackout_dates=[d.isoformat() for d in blackout if d],
        cap_per_day=_optional_whole(post, "cap_per_day"),
        cap_per_week=_optional_whole(post, "cap_per_week"),
        cap_per_month=_optional_whole(post, "cap_per_month"),
        min_gap_days=_optional_whole(post, "min_gap_days"),
        sale_from=forms.day(post.get("sale_from"), "sale_from"),
        sale_to=forms.day(post.get("sale_to"), "sale_to"),
        **(
            {
                "package_type": base.package_type.name if base.package_type else None,
                "commission_policy": base.commission_policy,
            }
            if base is not None
            else {}
        ),
    )


def initial_of(version) -> dict:
    """A version's terms as the form's fields, to edit them."""
    if version is None:
        return {"tax_inclusive": True, "expiry_kind": "none", "scope": "single", "max_beneficiaries": 1, "lines": []}
    expiry = version.expiry or {}
    lines = [
        {
            "label": line.label,
            "services": [s.id for s in line.services.all()],
            "sessions": line.sessions,
            "bonus": line.bonus_sessions,
        }
        for line in version.lines.all()
    ]
    return {
        "name": version.name,
        "description": version.description,
        "price": forms.typed(version.price, version.currency),
        "tax_rate": f"{version.tax_rate_bp / 100:g}",
        "tax_inclusive": version.tax_inclusive,
        "expiry_kind": expiry.get("kind", "none"),
        "expiry_count": expiry.get("count", ""),
        "expiry_unit": expiry.get("unit", "days"),
        "expiry_date": expiry.get("fixed_date", ""),
        "expiry_mode": version.expiry_mode,
        "grace_days": version.grace_days,
        "scope": version.scope,
        "centre_ids": [c.id for c in version.centres.all()],
        "shareable": version.shareable,
        "max_beneficiaries": version.max_beneficiaries,
        "transferable": version.transferable,
        "blackout_dates": ", ".join(version.blackout_dates or []),
        "cap_per_day": version.cap_per_day or "",
        "cap_per_week": version.cap_per_week or "",
        "cap_per_month": version.cap_per_month or "",
        "min_gap_days": version.min_gap_days or "",
        "sale_from": version.sale_from.isoformat() if version.sale_from else "",
        "sale_to": version.sale_to.isoformat() if version.sale_to else "",
        "lines": lines,
    }


def initial_from_post(post) -> dict:
    """What was typed, to show it again beside a refusal."""
    data = {k: post.get(k, "") for k in post}
    data.update(
        tax_inclusive=post.get("tax_inclusive") == "on",
        shareable=post.get("shareable") == "on",
        transferable=post.get("transferable") == "on",
        centre_ids=[int(c) for c in post.getlist("centre_ids") if c.isdigit()],
        lines=[
            {
                "label": post.get(f"line{i}_label", ""),
                "services": [int(s) for s in post.getlist(f"line{i}_services") if s.isdigit()],
                "sessions": post.get(f"line{i}_sessions", ""),
                "bonus": post.get(f"line{i}_bonus", ""),
            }
            for i in range(LINES)
        ],
    )
    return data


def line_rows(initial: dict) -> list[dict]:
    rows = list(initial.get("lines") or [])
    rows += [{"label": "", "services": [], "sessions": "", "bonus": ""}] * (LINES - len(rows))
    return [{"i": i, **row} for i, row in enumerate(rows[:LINES])]
