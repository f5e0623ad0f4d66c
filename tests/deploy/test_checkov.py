"""checkov (a static scanner) passes on the Dockerfiles and the Kubernetes manifests.

checkov runs from its own venv, `.venv-tools`: installed into `.venv` it would downgrade packages
the project uses. The checks it skips are listed, each with its reason, in deploy/.checkov.yaml.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.deployfiles import DEPLOY, ROOT

CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"
CONFIG = DEPLOY / ".checkov.yaml"


def test_skipped_checks_are_named_and_justified() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    lines = CONFIG.read_text().splitlines()
    for check in config.get("skip-check", []):
        assert "," not in check, "name each skipped check on its own line"
        index = lines.index(f"  - {check}")
        assert lines[index - 1].strip().startswith("#"), f"{check}: say why it is skipped"
        assert check in "\n".join(lines[:index]), f"{check}: name it in its comment"


@pytest.mark.slow
def test_checkov_passes_on_the_deploy_files(tmp_path: Path) -> None:
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHECKOV} is missing: the Makefile installs it (make tools)")
        pytest.skip(f"{CHECKOV} is not installed (make tools)")
    env = {**os.environ, "HOME": str(tmp_path), "BC_SKIP_MAPPING": "TRUE",
           "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    done = subprocess.run([str(CHECKOV), "--config-file", str(CONFIG)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-4000:]
    for framework in ("dockerfile", "kubernetes"):
        assert f"{framework} scan results" in done.stdout, done.stdout
    assert "Failed checks: 0" in done.stdout
