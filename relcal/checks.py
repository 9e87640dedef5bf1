"""System checks that name a dangerous production configuration before it bites."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_production_settings(app_configs, **kwargs):
    if settings.DEBUG:
        return []
    problems = []
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("sqlite3"):
        problems.append(
            Warning(
                "SQLite is not meant for production: one writer at a time, one machine.",
                hint="Set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/relcal.",
                id="relcal.W001",
            )
        )
    if settings.CELERY_BROKER_URL.startswith(("filesystem://", "memory://")):
        problems.append(
            Warning(
                "The embedded Celery broker only works when web, worker and beat share one "
                "machine's disk.",
                hint="Set CELERY_BROKER_URL=redis://HOST:6379/0 or amqp://USER:PASSWORD@HOST//.",
                id="relcal.W002",
            )
        )
    if not settings.SITE_URL.startswith("https://"):
        problems.append(
            Warning(
                "SITE_URL is not https: links in reminders and calendar feeds would go out "
                "in clear text.",
                hint="Set SITE_URL=https://relcal.example.com.",
                id="relcal.W003",
            )
        )
    if settings.EMAIL_BACKEND.endswith(("filebased.EmailBackend", "locmem.EmailBackend")):
        problems.append(
            Warning(
                "Reminders are written to files instead of being sent.",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend, EMAIL_HOST.",
                id="relcal.W004",
            )
        )
    if settings.RELCAL_METRICS == "open":
        problems.append(
            Warning(
                "/metrics is open to anyone who can reach Relcal; it names services, SLOs, "
                "views and environments.",
                hint="Set RELCAL_METRICS=token with RELCAL_METRICS_TOKEN_FILE, or leave it off.",
                id="relcal.W005",
            )
        )
    if settings.RELCAL_CSP_REPORT_ONLY:
        problems.append(
            Warning(
                "The Content-Security-Policy is report-only: browsers run injected scripts and "
                "only report them.",
                hint="Unset RELCAL_CSP_REPORT_ONLY once the policy is tried.",
                id="relcal.W020",
            )
        )
    return problems
