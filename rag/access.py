"""Who may see a passage: the permission filter every search passes down to the vector store.

A point's payload carries ``access``: the principals allowed to read it (``user:<e-mail>``,
``group:<name>``, ``user-id:<id>`` for a person whose e-mail Confluence does not show). A public point has
no ``access`` field. A search is made on behalf of an ``AccessScope``: it sees every public point, and a
restricted point only when the scope holds one of the point's principals. ``None`` (no scope) means
public only, so a caller that forgets the scope can never see restricted text.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCESS_FIELD = "access"
NOBODY = "nobody"  # a restricted page none of whose readers we can name: hidden from everyone


@dataclass(frozen=True, slots=True)
class AccessScope:
    """The principals a searcher holds (empty: public passages only)."""

    principals: frozenset[str] = frozenset()

    @classmethod
    def for_user(cls, email: str | None, groups: list[str] | tuple[str, ...] = ()) -> AccessScope:
        if not email:
            return cls()
        return cls(frozenset([user_principal(email), *(group_principal(g) for g in groups)]))

    @property
    def public_only(self) -> bool:
        return not self.principals

    def key(self) -> tuple[str, ...]:
        """A hashable, order-free identity for caches."""
        return tuple(sorted(self.principals))


def user_principal(email: str) -> str:
    return f"user:{email.strip().lower()}"


def group_principal(name: str) -> str:
    return f"group:{name.strip().lower()}"


def allowed(access: list[str] | None, scope: AccessScope | None) -> bool:
    """The same rule as the store filter, for passages held outside the store."""
    if not access:
        return True
    return scope is not None and bool(scope.principals.intersection(access))
