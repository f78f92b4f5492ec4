"""The CI/CD files validate against the schemas check-jsonschema ships (GitHub workflows, GitLab CI) and
hold the jobs the issue asks for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / ".github" / "workflows" / "ci.yml"
GITLAB = ROOT / ".gitlab-ci.yml"


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.is_file():
        pytest.skip("the test extra installs check-jsonschema")
    cmd = [str(exe), "--builtin-schema", schema, str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    ("schema", "path"), [("vendor.github-workflows", GITHUB), ("vendor.gitlab-ci", GITLAB)]
)
def test_ci_files_match_their_schemas(schema: str, path: Path) -> None:
    result = check_jsonschema(schema, path)
    print(f"check-jsonschema --builtin-schema {schema} {path.relative_to(ROOT)}:", result.stdout.strip())
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_fails_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
    assert check_jsonschema("vendor.github-workflows", broken).returncode != 0


def test_github_pipeline_lints_tests_on_postgres_builds_pushes_and_deploys_on_tags() -> None:
    jobs = yaml.safe_load(GITHUB.read_text())["jobs"]
    assert {"lint", "test", "webchat", "images", "deploy"} <= set(jobs)
    assert "postgres" in jobs["test"]["services"]
    assert any("ruff check" in str(s.get("run", "")) for s in jobs["lint"]["steps"])
    assert any("npm test" in str(s.get("run", "")) for s in jobs["webchat"]["steps"])
    assert any(s.get("with", {}).get("push") is True for s in jobs["images"]["steps"])
    assert "refs/tags/v" in jobs["deploy"]["if"]
    assert any("helm upgrade --install" in str(s.get("run", "")) for s in jobs["deploy"]["steps"])


def test_gitlab_pipeline_has_the_same_stages() -> None:
    ci = yaml.safe_load(GITLAB.read_text())
    assert ci["stages"] == ["lint", "test", "build", "deploy"]
    assert ci["test"]["services"][0]["name"].startswith("postgres:")
    assert {"image:backend", "image:webchat", "webchat", "lint", "deploy"} <= set(ci)
    assert ci["deploy"]["rules"] == [{"if": "$CI_COMMIT_TAG =~ /^v/"}]
    assert "helm upgrade --install" in " ".join(ci["deploy"]["script"])
