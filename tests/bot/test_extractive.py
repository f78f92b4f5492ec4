from bot.extractive import ExtractiveGenerator, score_blocks, select_blocks, split_blocks
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


def test_selection_prefers_blocks_with_rare_question_terms():
    blocks = score_blocks("how to set replicas on creation with an annotation", [passage()])
    chosen = select_blocks(blocks, budget=300)
    text = "\n\n".join(b.text for b in chosen)
    assert "werf.io/replicas-on-creation" in text
    assert "unrelated paragraph" not in text
    assert chosen[0].text.endswith("annotation:")  # the lead-in line comes with its code block


def test_fact_in_a_lower_passage_is_quoted():
    hub = passage("Images are built from a Dockerfile.\n\nImages can be built in parallel.", "Images", None)
    specific = passage(
        "Use `excludePaths` to skip files and `owner` to chown them on import.", "Imports", None
    )
    text, cited = ExtractiveGenerator().compose(
        GenerationRequest(
            "skip *.map files and chown them when importing images", "en", "default", [hub, specific]
        )
    )
    assert "excludePaths" in text and 2 in cited


async def test_answer_quotes_passages_with_titles_and_cites_them():
    gen = ExtractiveGenerator(passages=3)
    request = GenerationRequest(
        question="как задать replicas только при создании?",
        lang="ru",
        role="default",
        passages=[
            passage(),
            passage("HPA keeps replicas after creation.", "Autoscaling", None),
            passage("Helm rollback reverts a release.", "Rollback", None),
        ],
    )
    events = [e async for e in gen.generate(request)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    done = events[-1]
    assert isinstance(done, GenerationDone) and done.cited == (1, 2) and done.provider == "extractive"
    assert text.startswith("Вот что сказано в документации")
    assert "**[1] Annotations › Replicas**" in text and "**[2] Autoscaling**" in text
    assert "Rollback" not in text  # a passage that shares no term with the question is not quoted


def test_a_heading_alone_is_never_quoted():
    text = "## Cleanup report\n\nThe report lists the tags that cleanup kept and why."
    blocks = score_blocks("cleanup report", [passage(text, section="Cleanup report")])
    heading = next(b for b in blocks if b.text.startswith("##"))
    body = next(b for b in blocks if not b.text.startswith("##"))
    assert heading.score == 0 and body.score > 0
    chosen = select_blocks(blocks, 1800)
    assert [b.text for b in chosen] == [body.text]


def test_empty_link_targets_are_quoted_as_plain_text():
    text = "Run the [**werf host cleanup**]() command, see [docs](https://werf.io) and ![logo]()."
    answer, _ = ExtractiveGenerator().compose(
        GenerationRequest(question="werf host cleanup", passages=[passage(text)], lang="en", role="default")
    )
    assert "Run the **werf host cleanup** command, see [docs](https://werf.io) and ![logo]()." in answer
