from punchcard.domain.roles import SYSTEM, Actor, cli_actor  # noqa: F401  (moved; callers re-pointed at the merge)
