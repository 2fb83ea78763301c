from punchcard.domain.roles import GRANTS, Perm, require  # noqa: F401  (moved; callers re-pointed at the merge)
