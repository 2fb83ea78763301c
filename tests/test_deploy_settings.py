"""The production configuration: a random secret key made on first start, unsafe keys refused, and
`punchcard check --deploy` clean with PUNCHCARD_HTTPS=1 — all from real processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from punchcard.settings import PUBLISHED_SECRET_KEY

PUNCHCARD = Path(sys.executable).with_name("punchcard")
pytestmark = pytest.mark.skipif(not PUNCHCARD.exists(), reason="the punchcard console script is not installed")


def punchcard(tmp_path, *args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        # As an operator's shell would be: none of the test run's own settings (the browser tests set
        # DJANGO_ALLOW_ASYNC_UNSAFE for their process, which `check --deploy` rightly refuses).
        if not k.startswith("PUNCHCARD_")
        and k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    clean.update(PUNCHCARD_DATA=str(tmp_path), **env)
    return subprocess.run([str(PUNCHCARD), *args], env=clean, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_over_https_with_a_generated_key(tmp_path):
    run = punchcard(tmp_path, "check", "--deploy", PUNCHCARD_HTTPS="1")
    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stdout + run.stderr and "?:" not in run.stderr
    assert "System check identified no issues" in run.stdout
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 50 and key != PUBLISHED_SECRET_KEY
    again = punchcard(tmp_path, "check", "--deploy", PUNCHCARD_HTTPS="1")
    assert again.returncode == 0 and key_file.read_text().strip() == key  # made once, then kept


def test_without_https_the_deploy_check_says_what_is_missing(tmp_path):
    run = punchcard(tmp_path, "check", "--deploy")
    assert "security.W004" in run.stderr and "security.W008" in run.stderr  # HSTS, SSL redirect


@pytest.mark.parametrize("key", [PUBLISHED_SECRET_KEY, "x" * 49])
def test_the_published_default_or_a_short_key_is_refused(tmp_path, key):
    run = punchcard(tmp_path, "check", "--deploy", PUNCHCARD_HTTPS="1", PUNCHCARD_SECRET_KEY=key)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines() == [
        "error [configuration]: PUNCHCARD_SECRET_KEY is the published default or shorter than 50 characters: "
        "unset it to have a random key made in the data directory, or set one of 50+ random characters"
    ]


def test_debug_runs_with_a_short_key_and_a_set_key_wins_over_the_file(tmp_path):
    assert punchcard(tmp_path, "check", PUNCHCARD_DEBUG="1", PUNCHCARD_SECRET_KEY="dev").returncode == 0
    assert not (tmp_path / "secret_key").exists()
