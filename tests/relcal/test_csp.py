"""The Content-Security-Policy: enforced on pages, admin, API docs and API answers; no inline
script or style allowed, a nonce only where a page uses one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from tests.relcal.test_settings import _django

HEADER = "Content-Security-Policy"


def directives(response) -> dict[str, list[str]]:
    assert HEADER in response, dict(response.headers)
    policy = {}
    for part in response[HEADER].split(";"):
        name, *values = part.split()
        policy[name] = values
    return policy


def assert_strict(policy: dict[str, list[str]]) -> None:
    for name in ("default-src", "script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[name], policy
        assert "'unsafe-eval'" not in policy[name], policy
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]


@pytest.fixture
def staff_admin(client, admin):
    client.force_login(admin)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/releases/", id="page"),
        pytest.param("/admin/", id="admin"),
        pytest.param("/admin/releases/team/", id="admin-change-list"),
        pytest.param("/api/v1/docs/", id="api-docs"),
        pytest.param("/api/v1/docs/?script=", id="api-docs-script"),
        pytest.param("/api/v1/releases/", id="api-json"),
        pytest.param("/api/v1/releases/?format=api", id="browsable-api"),
        pytest.param("/api/v1/schema/", id="api-schema"),
    ],
)
def test_every_kind_of_answer_carries_the_strict_policy(staff_admin, url):
    response = staff_admin.get(url)
    assert response.status_code == 200
    assert_strict(directives(response))
    assert "Content-Security-Policy-Report-Only" not in response


@pytest.mark.django_db
def test_the_login_page_carries_the_policy_too(client):
    assert_strict(directives(client.get("/accounts/login/")))


@pytest.mark.django_db
def test_a_page_without_computed_styles_allows_no_nonce(staff_admin):
    policy = directives(staff_admin.get("/api/v1/releases/"))
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]


@pytest.mark.django_db
def test_a_page_with_computed_styles_allows_its_own_nonce_only(staff_admin, make_release):
    release = make_release()
    response = staff_admin.get(f"/releases/{release.pk}/")
    policy = directives(response)
    nonce = re.search(r"'nonce-([^']+)'", response[HEADER]).group(1)
    assert policy["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    page = response.content.decode()
    assert f'<style nonce="{nonce}">' in page
    assert " style=" not in page
    assert "<script>" not in page
    # A nonce is never reused: the next answer names another one.
    assert nonce not in staff_admin.get(f"/releases/{release.pk}/")[HEADER]


@pytest.mark.django_db
def test_the_api_docs_load_their_start_script_from_a_file(staff_admin):
    page = staff_admin.get("/api/v1/docs/").content.decode()
    assert '<script src="/api/v1/docs/?script="></script>' in page
    assert "<script>" not in page
    assert "<style" not in page
    script = staff_admin.get("/api/v1/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_extra_form_targets_for_a_sign_in_come_from_the_environment():
    result = _django(
        "from django.conf import settings as s; "
        "print(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'])",
        RELCAL_CSP_FORM_ACTION_EXTRA="https://sso.example.com, https://login.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "[\"'self'\", 'https://sso.example.com', 'https://login.example.org']"
    )


def test_report_only_is_a_choice_and_check_deploy_warns_about_it():
    result = _django(
        "from django.conf import settings as s; "
        "from django.core.management import call_command; "
        "print(s.CONTENT_SECURITY_POLICY, bool(s.CONTENT_SECURITY_POLICY_REPORT_ONLY)); "
        "call_command('check', '--deploy')",
        DEBUG="0",
        SECRET_KEY="test-" + "x" * 50,
        ALLOWED_HOSTS="relcal.example.com",
        RELCAL_CSP_REPORT_ONLY="1",
    )
    assert result.stdout.startswith("None True"), result.stdout + result.stderr
    assert "relcal.W020" in result.stdout + result.stderr


def render_styled(source: str, **context) -> str:
    request = RequestFactory().get("/")
    request.csp_nonce = "abc123"
    template = Template("{% load csp_styles %}" + source + "{% page_styles %}")
    return template.render(Context({"request": request, **context}))


def test_styled_values_become_rules_in_one_nonced_style_element():
    html = render_styled(
        "<i class=\"{% styled '--team-color: {}' color %}\"></i>"
        "<b class=\"{% styled 'left: {}%; width: {}%' 2.5 10 %}\"></b>",
        color="#4f6bed",
    )
    team = re.search(r'<i class="(s-[0-9a-f]{12})">', html).group(1)
    place = re.search(r'<b class="(s-[0-9a-f]{12})">', html).group(1)
    assert html.count("<style") == 1
    assert f'<style nonce="abc123">\n.{team}{{--team-color: #4f6bed !important}}\n' in html
    assert f".{place}{{left: 2.5% !important;width: 10% !important}}\n</style>" in html


@pytest.mark.parametrize(
    "color",
    [
        pytest.param("red}body{display:none", id="closes-the-rule"),
        pytest.param("red</style><script>alert(1)</script>", id="closes-the-element"),
        pytest.param("red;background:url(//evil.example/)", id="adds-a-declaration"),
    ],
)
def test_styled_drops_a_value_that_is_not_a_plain_value(color):
    html = render_styled("<i class=\"{% styled '--team-color: {}' color %}\"></i>", color=color)
    assert html == '<i class=""></i>'


ROOT = Path(__file__).resolve().parents[2]
# What the policy refuses, as it would appear in a template: each needs a file or a nonce.
REFUSED = {
    "style attribute": re.compile(r"\sstyle\s*="),
    "style element without the nonce": re.compile(r"<style(?![^>]*\bnonce=)[\s>]"),
    "inline script": re.compile(r"<script(?![^>]*\b(?:src|nonce)=)[^>]*>"),
    "event handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


TEMPLATE_TAG = re.compile(r"{%.*?%}")


def page_templates() -> list[Path]:
    found = sorted(ROOT.glob("templates/**/*.html")) + sorted(ROOT.glob("*/templates/**/*.html"))
    # E-mails are read in mail clients, not under the site's policy.
    return [path for path in found if "/email/" not in path.as_posix()]


def test_the_templates_are_found():
    names = {path.relative_to(ROOT).as_posix() for path in page_templates()}
    assert "templates/base.html" in names
    assert "environments/templates/environments/timeline.html" in names


@pytest.mark.parametrize("what", REFUSED)
def test_no_page_template_holds_what_the_policy_refuses(what):
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in page_templates()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        # Template tags' own arguments ({% render_field f style=style %}) are not HTML.
        if REFUSED[what].search(TEMPLATE_TAG.sub("", line))
    ]
    assert not offenders, "\n".join(offenders)
