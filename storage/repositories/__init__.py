"""Repositories: the only place that writes SQL. Functions take an ``AsyncSession`` and keyword args."""
