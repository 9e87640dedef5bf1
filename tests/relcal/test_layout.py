"""Where code lives (DESIGN.md "Apps and their direction"), checked over the source itself.

Dependencies point one way: the platform (``relcal``) imports no app; the features
(``calendars``, ``reminders``) read the domain apps through what those register; ``releases``
imports neither ``environments`` nor ``approvals``; imports sit at the top of modules, except in
``AppConfig.ready``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "relcal",
    "releases",
    "environments",
    "approvals",
    "calendars",
    "reminders",
    "demo",
    "accounts",
)


def _modules(app: str, *, skip: tuple[str, ...] = ()) -> list[Path]:
    return [
        path
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts and path.relative_to(ROOT).as_posix() not in skip
    ]


def _imported(path: Path) -> set[str]:
    """The top-level packages ``path`` imports, wherever the import statement is."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _offenders(app: str, forbidden: set[str], *, skip: tuple[str, ...] = ()) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {', '.join(sorted(_imported(path) & forbidden))}"
        for path in _modules(app, skip=skip)
        if _imported(path) & forbidden
    ]


# The project's URL map wires every app in; migrations name the validators of the tables the
# relcal label keeps for calendars and reminders.
PLATFORM_SKIP = ("relcal/urls.py",)


@pytest.mark.parametrize(
    ("app", "forbidden", "skip"),
    [
        pytest.param("relcal", set(APPS) - {"relcal"}, PLATFORM_SKIP, id="relcal-imports-no-app"),
        pytest.param(
            "reminders",
            {"releases", "environments", "approvals", "calendars", "demo"},
            (),
            id="reminders-imports-no-domain-app",
        ),
        pytest.param(
            "releases",
            {"environments", "approvals", "demo"},
            (),
            id="releases-imports-neither-environments-nor-approvals",
        ),
        pytest.param("environments", {"approvals", "demo"}, (), id="environments-no-approvals"),
        pytest.param("approvals", {"environments", "demo"}, (), id="approvals-no-environments"),
        pytest.param(
            "accounts",
            {
                "environments",
                "approvals",
                "reliability",
                "delivery",
                "calendars",
                "reminders",
                "demo",
            },
            (),
            id="accounts-imports-only-the-platform-and-releases",
        ),
    ],
)
def test_dependencies_point_one_way(app, forbidden, skip):
    assert _offenders(app, forbidden, skip=skip) == []


def test_calendars_read_domain_apps_only_through_their_selectors():
    reached = set()
    for path in _modules("calendars"):
        for node in ast.walk(ast.parse(path.read_text())):
            domain = {"releases", "environments", "approvals"}
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                reached |= {node.module} if node.module.split(".")[0] in domain else set()
    assert reached <= {"releases.selectors", "environments.selectors"}


@pytest.mark.parametrize("app", APPS)
def test_imports_sit_at_the_top_except_in_app_ready(app):
    late = []
    for path in _modules(app):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or (
                path.name == "apps.py" and node.name == "ready"
            ):
                continue
            late += [
                f"{path.relative_to(ROOT)}:{inner.lineno} in {node.name}()"
                for inner in ast.walk(node)
                if isinstance(inner, ast.Import | ast.ImportFrom)
            ]
    assert late == []


@pytest.mark.parametrize("app", APPS)
def test_no_app_reaches_into_the_admin_sites_registry(app):
    hacks = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in _modules(app)
        for needle in ("_registry", "site.index =")
        if needle in path.read_text()
    ]
    assert hacks == []
