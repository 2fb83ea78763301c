from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "punchcard.notifications"
    label = "notifications"

    def ready(self):
        from punchcard import events
        from punchcard.jobs import registry
        from punchcard.jobs.schedules import Every

        from . import outbox, tasks

        events.on(events.ANY, outbox.write, when=events.RECORDED)  # the outbox row, in the change's transaction
        registry.register("outbox-delivery", tasks.outbox_delivery, Every(minutes=1))
