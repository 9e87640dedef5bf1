"""Configuration: safe defaults on a bare machine, refusals and warnings in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _django(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    environment.update(env, DJANGO_SETTINGS_MODULE="relcal.settings")
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = _django("print('started')", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_reads_a_secret_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file-0123456789\n")
    result = _django(
        "from django.conf import settings; print(settings.SECRET_KEY)",
        DEBUG="0",
        SECRET_KEY_FILE=str(secret),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-a-file-0123456789"


def test_a_bare_checkout_runs_on_sqlite_and_the_filesystem_broker(tmp_path):
    result = _django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['OPTIONS'], "
        "s.CELERY_BROKER_URL)",
        RELCAL_VAR_DIR=str(tmp_path),
        DATABASE_URL="",
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout
    assert "'transaction_mode': 'IMMEDIATE'" in result.stdout
    assert "filesystem://" in result.stdout
    assert (tmp_path / "broker" / "queue").is_dir()


@pytest.fixture(scope="module")
def deploy_check_output(tmp_path_factory) -> str:
    """What ``manage.py check --deploy`` prints for production-like settings (run once)."""
    tmp_path = tmp_path_factory.mktemp("deploy-check")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            "DEBUG": "0",
            "SECRET_KEY": "x" * 60 + "production-like-secret",
            "ALLOWED_HOSTS": "relcal.example.com",
            "SITE_URL": "http://relcal.example.com",
            "CELERY_BROKER_URL": "filesystem://",
            "RELCAL_VAR_DIR": str(tmp_path),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize("check_id", ["relcal.W001", "relcal.W002", "relcal.W003", "relcal.W004"])
def test_check_deploy_names_dangerous_production_settings(deploy_check_output, check_id):
    assert check_id in deploy_check_output, deploy_check_output[-2000:]


def test_reminder_settings_come_from_the_environment():
    result = _django(
        "from django.conf import settings as s; print(s.RELCAL_MILESTONE_REMINDER_OFFSETS, "
        "s.RELCAL_DIGEST_HOUR, s.RELCAL_REMINDER_STALE_AFTER)",
        RELCAL_MILESTONE_REMINDER_OFFSETS="1, 7,3",
        RELCAL_DIGEST_HOUR="17",
        RELCAL_REMINDER_STALE_AFTER="3600",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(7, 3, 1) 17 3600"


BAD_REMINDER_SETTINGS = {
    "RELCAL_DIGEST_HOUR": ("24", "RELCAL_DIGEST_HOUR must be between 0 and 23, not 24."),
    "RELCAL_REMINDER_MAX_ATTEMPTS": (
        "lots",
        "RELCAL_REMINDER_MAX_ATTEMPTS must be a whole number, not 'lots'.",
    ),
    "RELCAL_MILESTONE_REMINDER_OFFSETS": ("3,x", "RELCAL_MILESTONE_REMINDER_OFFSETS must be"),
    # A claim shorter than a send could expire mid-send and let a second worker send it too.
    "RELCAL_REMINDER_CLAIM_TIMEOUT": ("40", "at least twice EMAIL_TIMEOUT"),
}


@pytest.mark.parametrize("name", list(BAD_REMINDER_SETTINGS))
def test_bad_reminder_settings_stop_the_start_naming_the_variable(name):
    value, message = BAD_REMINDER_SETTINGS[name]
    result = _django("print('started')", **{name: value})
    assert result.returncode != 0, name
    assert message in result.stderr, result.stderr[-500:]
