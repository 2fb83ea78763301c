"""Domain errors. Every refusal has a stable `code` that clients can switch on.

`kind` says what sort of refusal it is; the HTTP layer maps kinds to status codes
(invalid → 422, not_found → 404, forbidden → 403, conflict → 409, unverified → 401,
bad_request → 400) and the CLI to exit codes.
"""

from __future__ import annotations

# Every code the core can answer with, and what it means. The API serves this table
# as documentation of problem types; tests check every raised code is listed here.
CODES: dict[str, str] = {
    # input
    "invalid": "The request is malformed or a value breaks a rule.",
    "not_found": "No such object for this tenant.",
    "forbidden": "The caller's role lacks the permission named in the detail.",
    "idempotency_conflict": "The idempotency key was used before with a different request.",
    "duplicate_code": "Another centre, service, plan, patient or login of the tenant already has this code.",
    # catalogue
    "plan_not_on_sale": "The plan is not on sale (draft, retired or outside its sale window).",
    "plan_expired": "The plan's fixed expiry date has passed: a package sold now would be expired at once.",
    "plan_empty": "A plan needs at least one entitlement line with sessions.",
    "plan_version_sold": "A sold plan version cannot be edited; a new version is made instead.",
    "currency_mismatch": "The amount's currency is not the tenant's currency.",
    # selling
    "order_not_open": "The order is already paid, cancelled or otherwise closed.",
    "overpayment": "The payment exceeds the amount still due on the order.",
    "insufficient_credit": "The patient's credit balance does not cover the amount.",
    # payment providers and stored payment methods (SPEC §10.2)
    "unknown_provider": "No payment provider by this name is installed.",
    "provider_unsupported": "The payment provider does not offer this (e.g. the front desk has no hosted checkout).",
    "payment_method_refused": "The provider would not store the payment method: an unknown, invalid or expired token.",
    "payment_method_detached": "The payment method was detached from the patient and cannot be charged.",
    "payment_failed": "The provider did not take the payment; `context.failure_code` says why (declined, funds, …).",
    "checkout_closed": "The checkout has already ended (paid or failed); start a new one.",
    "webhook_malformed": "The provider webhook lacks its Standard Webhooks headers or its body is not an event.",
    "webhook_signature_invalid": "The provider webhook's signature does not match (or its account is unknown).",
    "webhook_timestamp_out_of_range": "The provider webhook's timestamp is more than 5 minutes from now: a replay?",
    # the books
    "period_not_ended": "An accounting period can be closed only after its last day (in the tenant's zone).",
    # redemption checks (SPEC §5), in the order they are evaluated
    "package_closed": "The package is completed, cancelled, refunded or upgraded.",
    "not_started": "The package's start date has not been reached.",
    "expired": "The package has expired (past its expiry date and any grace days).",
    "out_of_scope": "The centre is outside the package's centre scope.",
    "blackout_date": "The date is one of the package's blackout dates.",
    "not_beneficiary": "The person is neither the holder nor a beneficiary of the package.",
    "service_not_eligible": "No line of the package covers the service.",
    "insufficient_sessions": "Not enough available sessions on the line.",
    "usage_cap": "The package's per-day, per-week or per-month usage cap would be exceeded.",
    "min_gap": "The minimum gap between sessions would be broken.",
    # holds, redemptions, voids
    "backdated": "The date is before today at the centre: only a manager may back-date, with a reason.",
    "hold_resolved": "The hold was already posted or released.",
    "already_voided": "The redemption was already voided.",
    "not_voidable": "The redemption cannot be voided (its package is closed).",
    # package changes
    "transition_not_allowed": "The package's status does not allow this change.",
    "not_shareable": "The package is not shareable.",
    "beneficiary_limit": "The package already has its maximum number of beneficiaries.",
    "already_beneficiary": "The person is already a beneficiary of the package.",
    "not_transferable": "The package is not transferable.",
    "adjustment_too_large": "The adjustment would make available sessions negative.",
    # money
    "refund_out_of_range": (
        "A refund must be between what was paid on open top-up orders (0 if none) and the amount collected."
    ),
    "not_refundable": "The package cannot be refunded in its status.",
    "upgrade_not_larger": "An upgrade must be to a plan with more sessions and a higher price.",
    "topup_not_allowed": "The package cannot be topped up in its status or the plan has no top-up price.",
    # appointments
    "package_not_removable": "The package cannot be removed after arrival; void the redemption instead.",
    "reschedule_refused": "The new date breaks the package's rules; remove the package or change its expiry first.",
    "appointment_state": "The appointment's status does not allow this.",
    "unknown_reference": "The event names a patient, service or centre this tenant does not have.",
    # promotions and claim codes (SPEC §9)
    "promotion_not_applicable": (
        "The promotion code does not apply (unknown, retired, outside its window, other plans)."
    ),
    "claim_code_mistyped": "The claim code is malformed or its check character does not match: a typo.",
    "claim_code_unknown": "No claim code like this exists.",
    "claim_code_used": "The claim code was already claimed.",
    "claim_code_revoked": "The claim code was revoked.",
    "claim_code_expired": "The claim code has expired.",
    "claim_code_unpaid": "The order behind the claim code is not paid yet.",
    "rate_limited": "Too many failed attempts; wait before trying again.",
    # the patient portal (SPEC §10a)
    "portal_link_refused": "The portal link is unknown, expired or revoked: the clinic can send a new one.",
    # memberships (SPEC §10)
    "membership_transition_not_allowed": "The membership's status does not allow this change (the detail says why).",
    "membership_plan_not_on_sale": "The membership plan is a draft or retired: nobody can subscribe to it.",
    "frequency_not_offered": "The membership plan has no price for this billing frequency.",
    "membership_not_active": "Only an active membership in a paid period can change plan or frequency.",
    "change_nothing_to_change": "The membership is already on this plan and frequency.",
    "change_other_tier_group": "A plan change moves up or down the ranks of one tier group; this plan is in another.",
    "change_already_scheduled": "A change is already scheduled for the period end.",
    "change_invoice_unpaid": "The current period's invoice is not paid: pay it before changing now.",
    "change_proration_pending": "This period's last change waits for the next invoice; change again next period.",
    "change_in_paused_period": "This period was paused; change at the period end instead.",
    "invoice_not_open": "The invoice is paid, void or written off: it takes no payment.",
    "invoice_transition_not_allowed": "The invoice's status does not allow this change.",
    "pause_not_allowed": "The membership's plan does not allow pauses.",
    "pause_too_short": "The pause is shorter than the plan's shortest pause.",
    "pause_too_long": "The pause is longer than the plan's longest pause.",
    "pause_limit_reached": "The member has had as many pauses in the last twelve months as the plan allows.",
    "membership_invoice_open": "The membership has an unpaid invoice: pay it first.",
    "immediate_cancellation_not_allowed": "The plan cancels at the period end only.",
    "notice_period": "The plan's notice period has not run yet: `context.earliest` is the first day it can end.",
    "minimum_commitment": "The plan's minimum commitment has not been served: `context.earliest` says when it is.",
    # notifications (SPEC §12)
    "webhook_url_refused": (
        "The webhook URL is not an http(s) URL to a public address (loopback, private and link-local are refused)."
    ),
    "endpoint_disabled": "The webhook endpoint is disabled; re-enable it first.",
    # the test clock (SPEC §10.4)
    "test_clock_live_tenant": "Only a sandbox tenant has a test clock: a live tenant's time is the real time.",
    "test_clock_backwards": "A test clock only moves forward: the instant is before the sandbox's clock.",
    "test_clock_span_too_long": "One advance moves a test clock at most 5 years.",
    "test_clock_busy": "Another advance of this sandbox's clock is running; try again when it has finished.",
    # moving in from another system (SPEC §10a)
    "import_file_invalid": "The file is not a UTF-8 CSV with the import's header row (the detail names what is wrong).",
    "import_duplicate_row": "The source id appears more than once in the file: only its first row is imported.",
    "import_row_changed": "The row was imported before with other values; the change is reported, never applied.",
    "import_used_exceeds_granted": "More sessions are marked used than the package grants.",
    "import_dates_out_of_order": "The dates contradict each other (a start or expiry before the purchase).",
}


class DomainError(Exception):
    kind = "conflict"
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None, **context):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        if self.code not in CODES:
            raise AssertionError(f"undeclared domain error code {self.code!r}")
        self.field = field
        self.context = context

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    kind = "invalid"
    default_code = "invalid"


class NotFound(DomainError):
    kind = "not_found"
    default_code = "not_found"


class Forbidden(DomainError):
    kind = "forbidden"
    default_code = "forbidden"


class Conflict(DomainError):
    kind = "conflict"
    default_code = "invalid"


class RuleViolation(Conflict):
    """A package rule refuses the operation (SPEC §5 checks)."""


class Unverified(DomainError):
    """A request that proves nobody sent it (a provider webhook with a wrong signature): HTTP 401."""

    kind = "unverified"


class BadRequest(DomainError):
    """A request the HTTP layer answers 400: not a refusal of what it asks, it is not well formed."""

    kind = "bad_request"


class RateLimited(DomainError):
    """Too many failures from one caller (e.g. claim-code guessing); the HTTP layer answers 429."""

    kind = "rate_limited"
    default_code = "rate_limited"
