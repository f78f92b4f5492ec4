"""Keeping remote sources in step with the index (``confluence``)."""
