"""Browser fixtures: Debian's Chromium driven by Playwright's sync API against ``live_server``.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse ORM calls
there ("async unsafe"); the tests only touch the database between browser steps, so allow it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the test item so that fixtures can see if the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# Runs in every page before its own scripts: each securitypolicyviolation event goes to the test.
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__relcalCspViolation({
    page: document.location.href,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    sample: event.sample,
    source: event.sourceFile + ":" + event.lineNumber,
  });
});
"""


class CspWatch:
    """Collects Content-Security-Policy violations from the browser: the page's
    ``securitypolicyviolation`` events and Chromium's console errors ("Refused to ... because it
    violates the following Content Security Policy directive"). ``open_page`` fails the test on
    any, so every browser test also proves its pages run under the policy."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def attach(self, context) -> None:
        context.expose_binding(
            "__relcalCspViolation", lambda source, found: self.violations.append(str(found))
        )
        context.add_init_script(WATCH_CSP)
        context.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"console {message.type}: {message.text}")

    def assert_none(self) -> None:
        if self.violations:
            pytest.fail(
                "Content-Security-Policy violations:\n" + "\n".join(self.violations),
                pytrace=False,
            )


@pytest.fixture
def csp_watch() -> CspWatch:
    return CspWatch()


@pytest.fixture
def open_page(live_server, request, csp_watch) -> Iterator:
    """``open_page(viewport, **context_options)`` gives a fresh page on the live server; when
    the test fails, each page is saved under var/screenshots/ for debugging.

    Playwright starts and stops within each test on purpose: while it runs, Django sees the
    test thread as another context and hands it other database connections. Stopping it before
    pytest-django's teardown lets the teardown use the test database connection it prepared
    (with the serialized contents that restore the roles migration's groups).

    Every page is watched for Content-Security-Policy violations (``csp_watch``): any fails the
    test at teardown.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    pages = []

    def open_page(viewport: dict = DESKTOP, **options):
        # The browser's zone becomes a new user's on the first visit: the site's, unless a test
        # says otherwise, whatever the zone of the machine running the tests.
        options.setdefault("timezone_id", settings.TIME_ZONE)
        context = browser.new_context(base_url=live_server.url, viewport=viewport, **options)
        context.set_default_timeout(10_000)
        csp_watch.attach(context)
        page = context.new_page()
        pages.append(page)
        return page

    try:
        yield open_page
        # Violation events are queued tasks in the page: give the last ones time to arrive.
        for page in pages:
            if not page.is_closed():
                page.wait_for_timeout(100)
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for number, page in enumerate(pages):
                page.screenshot(
                    path=SCREENSHOTS / f"{request.node.name}-{number}.png", full_page=True
                )
        # The connections opened while Playwright ran would otherwise stay open (and keep
        # PostgreSQL from dropping the test database at the end).
        connections.close_all()
        browser.close()
        playwright.stop()
    csp_watch.assert_none()


def log_in(page, username: str, password: str) -> None:
    """Log in through the login page, as a person would."""
    page.goto("/releases/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/releases/")


@pytest.fixture
def demo(settings):
    """The demo data (seed_demo refuses to run outside DEBUG; the pages are served with it off)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    settings.DEBUG = False


# --- Accessibility: axe-core in the page ----------------------------------------------------------

# Installed by ``make test`` (npm ci in tests/browser, pinned in its package-lock.json).
AXE_SCRIPT = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices; plus, of axe's experimental
# rules, the visible label that must be part of an element's accessible name (WCAG 2.5.3).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
AXE_EXTRA_RULES = ["label-content-name-mismatch"]

RUN_AXE = """async ({tags, extra, disabled}) => {
  const rules = Object.fromEntries([
    ...extra.map((id) => [id, {enabled: true}]),
    ...disabled.map((id) => [id, {enabled: false}]),
  ]);
  const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, rules});
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    helpUrl: violation.helpUrl,
    nodes: violation.nodes.map((node) => ({
      target: node.target.join(" "),
      summary: node.failureSummary,
    })),
  }));
}"""


class Axe:
    """``axe.violations(page)`` runs axe-core over the page as it is now and returns readable
    lines (page, rule id, impact, help, each element's selector and why); ``axe.check(page)``
    fails the test with them. ``disable`` turns rules off by id, for one call only.

    The script is evaluated through the browser's debugging protocol rather than added as a
    ``<script>``, so the Content-Security-Policy (which refuses inline scripts) lets it run and
    ``csp_watch`` sees nothing."""

    def __init__(self, source: str) -> None:
        self.source = source

    def violations(self, page, *, disable: tuple[str, ...] = ()) -> list[str]:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(self.source)
        options = {"tags": AXE_TAGS, "extra": AXE_EXTRA_RULES, "disabled": list(disable)}
        found = page.evaluate(RUN_AXE, options)
        lines = []
        for violation in found:
            lines.append(
                f"{page.url}: {violation['id']} ({violation['impact']}): {violation['help']} "
                f"<{violation['helpUrl']}>"
            )
            for node in violation["nodes"]:
                summary = " ".join(node["summary"].split())
                lines.append(f"    {node['target']}: {summary}")
        return lines

    def check(self, page, *, disable: tuple[str, ...] = ()) -> None:
        lines = self.violations(page, disable=disable)
        if lines:
            pytest.fail(
                "axe-core found accessibility violations:\n" + "\n".join(lines), pytrace=False
            )


@pytest.fixture(scope="session")
def axe() -> Axe:
    """axe-core from tests/browser/node_modules; the tests skip without it, unless
    RELCAL_REQUIRE_BROWSER=1 (CI), where they fail instead."""
    if not AXE_SCRIPT.exists():
        message = f"{AXE_SCRIPT} is missing (make test runs npm ci in tests/browser)"
        if os.environ.get("RELCAL_REQUIRE_BROWSER") == "1":
            pytest.fail(message + ", and RELCAL_REQUIRE_BROWSER=1")
        pytest.skip(message)
    return Axe(AXE_SCRIPT.read_text(encoding="utf-8"))
