"""The patient portal (SPEC §10a): a patient's own packages, receipts and credit on their phone, opened with a
signed link the clinic sends (tenancy.portal_links), and the few things they may do themselves — claim a gift
or bulk code, buy a plan the clinic sells online.

Every page re-checks the link behind the visit (expired or revoked: refused at once) and shows only the
patient's own rows and the family members they share packages with; another patient's id answers exactly
like a missing one. Every action is a service call with the patient as the actor ("patient:12 Asha Rao"
from "portal" in the audit trail), behind CSRF, and throttled.
"""
