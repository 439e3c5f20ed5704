"""Patterns for request text that PostgreSQL stores.

PostgreSQL's text type cannot hold a NUL character: one that reaches a query
fails it with a server error, so it is refused at validation (422) instead.
"""

NO_NUL = r"^[^\x00]*$"
# Deliverability is not checked; the shape is enough to refuse typos early.
EMAIL = r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
