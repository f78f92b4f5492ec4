from bot.extractive import ExtractiveGenerator, best_excerpt, split_blocks, terms
from bot.generation import GenerationDone, GenerationRequest, TextDelta
from bot.types import Passage

DOC = """Werf tracks resources during deploy.

Some unrelated paragraph about images and their layers.

To set replicas only on creation, use the annotation:

```yaml
metadata:
  annotations:
    werf.io/replicas-on-creation: "3"
```

Another paragraph at the end."""


def passage(text: str = DOC, title: str = "Annotations", section: str | None = "Replicas") -> Passage:
    return Passage(
        chunk_id="c1",
        doc_id="d1",
        text=text,
        title=title,
        section=section,
        url="https://x",
        path="a.md",
        lang="en",
        score=0.9,
    )


def test_code_blocks_stay_whole():
    blocks = split_blocks(DOC)
    code = [b for b in blocks if b.startswith("```")]
    assert len(code) == 1 and code[0].endswith("```") and "replicas-on-creation" in code[0]


def test_excerpt_picks_the_block_that_matches_the_question():
    excerpt = best_excerpt(terms("how to set replicas on creation annotation"), passage(), budget=300)
    assert "werf.io/replicas-on-creation" in excerpt
    assert "unrelated paragraph" not in excerpt


async def test_answer_quotes_passages_with_titles_and_cites_them():
    gen = ExtractiveGenerator(passages=2)
    request = GenerationRequest(
        question="как задать replicas только при создании?",
        lang="ru",
        role="default",
        passages=[passage(), passage("Helm rollback reverts a release.", "Rollback", None)],
    )
    events = [e async for e in gen.generate(request)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    done = events[-1]
    assert isinstance(done, GenerationDone) and done.cited == (1, 2) and done.provider == "extractive"
    assert text.startswith("Вот что сказано в документации")
    assert "**[1] Annotations › Replicas**" in text and "**[2] Rollback**" in text
