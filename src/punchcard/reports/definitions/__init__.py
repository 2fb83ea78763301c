"""One module per report (or a family of them), each registering itself with `reports.registry.register`.

`ReportsConfig.ready` imports every module here: a new report needs no other edit.
"""
