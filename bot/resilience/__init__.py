"""Staying useful under load and failure: the messenger admission queue, the outbox of writes kept while
the database is down, search that degrades instead of failing, and their settings (see docs/operations.md).
"""
