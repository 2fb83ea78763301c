"""Hooks other apps attach to, sent inside the sending service's transaction (so a receiver's writes
commit or roll back with the change). Packages import nothing from the apps that listen.

- package_activated(package, actor, now): a package was sold and activated (billing.activate_package).
- redemption_voided(redemption, actor, now, reason): a redemption was voided (void_redemption); listeners
  reverse what they hung on it (the appointment's co-pay charge, the practitioner's commission).
"""

from django.dispatch import Signal

package_activated = Signal()
redemption_voided = Signal()
