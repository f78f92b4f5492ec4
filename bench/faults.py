"""The fault matrix: runs every fault test and prints fault × outcome (the test's docstring) × result.

    .venv/bin/python -m bench.faults [-k EXPR]

Each test injects one fault into the real core (fake LLM, a private PostgreSQL server stopped and started,
the vector store closed, the fake Bot API failing, ``opora ingest`` killed) and asserts that nothing is
lost and the user is told. The docstring of each test is its row: "fault → outcome".
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = (
    "tests/bot/test_faults.py",
    "tests/adapters/test_messenger_faults.py",
    "tests/bot/test_ingest_kill.py",
    "tests/storage/test_db.py",
)


def rows() -> dict[str, str]:
    """Test name → its docstring's first sentence pair, from the test files."""
    out: dict[str, str] = {}
    for rel in FILES:
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and node.name.startswith("test_"):
                out[node.name] = " ".join((ast.get_docstring(node) or node.name).split())
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", default="", help="pytest -k expression")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", f"--junitxml={report}", *FILES]
        if args.k:
            cmd += ["-k", args.k]
        subprocess.run(cmd, cwd=ROOT, check=False)
        cases = ET.parse(report).getroot().iter("testcase")
        docs = rows()
        print("\nfault × outcome")
        print(f"{'result':8} {'test':58} fault → outcome")
        for case in cases:
            name = case.get("name", "")
            result = "FAILED" if case.find("failure") is not None or case.find("error") is not None else "ok"
            if case.find("skipped") is not None:
                result = "skipped"
            print(f"{result:8} {name:58} {docs.get(name.split('[')[0], '')}")


if __name__ == "__main__":
    main()
