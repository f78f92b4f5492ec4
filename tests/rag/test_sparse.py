from __future__ import annotations

import subprocess
import sys

from rag.sparse import document_vector, identifiers, query_vector, term_index, terms, word_terms


def test_stemming_per_script_and_identifiers() -> None:
    t = terms("Deploying replicas: werf.io/replicas-on-creation и реплики деплоя --copy-from")
    assert "deploy" in t and "replica" in t and "реплик" in t
    assert "id:werf.io/replicas-on-creation" in t and "id:copy-from" in t


def test_term_indices_are_stable_across_processes() -> None:
    code = "from rag.sparse import term_index; print(term_index('werf'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=".")
    assert int(out.stdout) == term_index("werf") < 2**32


def test_bm25_saturation_and_length_normalisation() -> None:
    one = document_vector("helm chart")
    many = document_vector("helm " * 10 + "chart")
    long = document_vector("helm chart " + "filler words here " * 50)
    idx = term_index("helm")
    val = dict(zip(one.indices, one.values, strict=True))[idx]
    assert val < dict(zip(many.indices, many.values, strict=True))[idx] < 2.2  # saturates below k1 + 1
    assert dict(zip(long.indices, long.values, strict=True))[idx] < val
    q = query_vector("the helm chart")
    assert set(q.values) == {1.0} and q.indices == sorted(q.indices)


def test_abbreviations_are_prose_not_identifiers() -> None:
    text = "copy images, e.g. for a customer (i.e. т.е. a/b) with --copy-from werf.io/weight v1.2"
    assert identifiers(text) == {"copy-from", "werf.io/weight", "v1.2"}
    assert not any(t in {"id:e.g", "id:i.e", "id:т.е"} for t in terms(text))


def test_word_terms_are_the_stems_without_identifiers() -> None:
    text = "Werf копирует образы with --copy-from"
    assert word_terms(text) == frozenset(t for t in terms(text) if not t.startswith("id:"))
