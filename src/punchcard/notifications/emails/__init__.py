"""Email to patients: what an event says (`render`), how it leaves (`transport`), once per event and
recipient (`sends`)."""
