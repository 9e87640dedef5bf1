"""X-Forwarded-Proto is trusted only when RELCAL_TRUST_X_FORWARDED_PROTO says a proxy sets it:
otherwise any client could claim https (secure cookies, no redirect to https, CSRF origin)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.test import RequestFactory

ROOT = Path(__file__).resolve().parent.parent
PRINT_HEADER = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.SECURE_PROXY_SSL_HEADER)"
)


def configured_header(**env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "RELCAL_TRUST_X_FORWARDED_PROTO"}
    environ.update(DJANGO_SETTINGS_MODULE="relcal.settings", **env)
    done = subprocess.run(
        [sys.executable, "-c", PRINT_HEADER],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_forwarded_proto_header_is_not_trusted_by_default():
    assert configured_header() == "None"


def test_a_proxy_that_sets_the_header_is_trusted_when_the_setting_says_so():
    assert configured_header(RELCAL_TRUST_X_FORWARDED_PROTO="1") == (
        "('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_a_client_claiming_https_is_not_believed_without_a_trusted_proxy():
    request = RequestFactory().get("/", headers={"x-forwarded-proto": "https"})
    assert request.is_secure() is False
