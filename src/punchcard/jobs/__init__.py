"""Jobs: the time-driven work of every app (SPEC §12), run by django-tasks workers.

Apps register their periodic work here (`registry.register`); `tick` enqueues whatever is due exactly
once, however often and wherever it runs. This app imports no business app.
"""
