"""Audience tags of pages, and a bounded ranking boost for the asker's role.

A page is tagged with the roles it is written for, from three signals, strongest first:

1. labels naming a role, when the source provides them (passed to ``audience``);
2. its path: a folder such as ``ci``, ``deploy`` or ``sdk`` says who reads it;
3. its content: the share of role vocabulary in its title, headings and best passage.

``RoleBooster`` lifts the candidate pages tagged with the asker's role by a fixed, small amount (the
``ranking.roles.boost`` setting, chosen by 2-fold CV on a role-tagged question set,
``python -m bench.roles_cv``). Pages are never lowered, and the boost is bounded, so a question that clearly
names another role's page still gets it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from rag.boosts import Adjustment, Candidate
from rag.types import Chunk

ROLES = ("frontend", "backend", "devops", "qa")

# folders whose pages a role reads first (matched against path segments and file stems)
_PATHS: dict[str, tuple[str, ...]] = {
    "devops": (
        "deploy",
        "ci",
        "cd",
        "cleanup",
        "registry",
        "registries",
        "kubernetes",
        "cluster",
        "rbac",
        "security",
        "integration_with_ci_cd_systems",
        "authentication",
        "tracking",
        "operations",
    ),
    "backend": ("sdk", "chart_template_guide", "project_configuration", "api", "library_charts"),
    "qa": ("test", "tests", "testing", "chart_tests", "lint", "helm_test", "helm_lint", "debugging"),
    "frontend": ("frontend", "assets", "static", "ui", "web"),
}
# vocabulary that says who a passage is written for (stems, en and ru)
_WORDS: dict[str, tuple[str, ...]] = {
    "devops": (
        "cluster",
        "kubeconfig",
        "namespace",
        "rbac",
        "pipeline",
        "gitlab",
        "runner",
        "registry",
        "rollback",
        "rollout",
        "node",
        "ingress",
        "кластер",
        "пайплайн",
        "раннер",
        "реестр",
        "неймспейс",
    ),
    "backend": (
        "template",
        "function",
        "values",
        "go",
        "library",
        "api",
        "sdk",
        "struct",
        "шаблон",
        "функци",
        "библиотек",
    ),
    "qa": ("test", "lint", "assert", "verify", "validat", "schema", "тест", "провер", "валидац"),
    "frontend": ("npm", "node_modules", "webpack", "javascript", "browser", "static", "assets", "фронтенд"),
}
_WORD = re.compile(r"[\w./-]+", re.UNICODE)


@lru_cache(maxsize=8192)
def _content_roles(text: str, min_share: float = 0.02) -> frozenset[str]:
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return frozenset()
    out = set()
    for role, stems in _WORDS.items():
        hits = sum(1 for w in words if w.startswith(stems))
        if hits >= 3 and hits / len(words) >= min_share:
            out.add(role)
    return frozenset(out)


def _path_roles(path: str) -> frozenset[str]:
    parts = {p.lower() for p in re.split(r"[/_.-]", path)} | {p.lower() for p in path.split("/")}
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    parts.add(stem)
    return frozenset(role for role, names in _PATHS.items() if parts & set(names))


def audience(chunk: Chunk, labels: Sequence[str] = ()) -> frozenset[str]:
    """The roles a page is written for (see the module docstring); empty when nothing says."""
    named = frozenset(label.lower() for label in labels) & set(ROLES)
    if named:
        return named
    text = " ".join([chunk.title, *chunk.breadcrumb, chunk.text])
    return _path_roles(chunk.path or chunk.doc_id) | _content_roles(text)


class RoleBooster:
    """Lifts candidate pages tagged with ``role`` by ``boost`` (``rag.boosts.PageBooster``)."""

    def __init__(self, role: str, boost: float) -> None:
        self.role, self.boost = role, boost

    @property
    def active(self) -> bool:
        return self.role in ROLES and self.boost > 0

    def adjust(self, pages: Sequence[Candidate], query: np.ndarray) -> dict[str, Adjustment]:
        if not self.active:
            return {}
        reason = f"role:{self.role}"
        return {
            page.key: Adjustment(self.boost, (reason,))
            for page in pages
            if any(self.role in audience(c) for c in page.chunks)
        }
