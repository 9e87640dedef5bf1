"""``manage.py evaluate_slos``: what the periodic task runs, by hand or from cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from reliability import budget, evaluation
from reliability.models import SLO


class Command(BaseCommand):
    help = (
        "Evaluate SLOs now: read each source (Prometheus or pushed measurements), store the "
        "SLI, error budget and burn rates, and print how many SLOs are in each state. With "
        "--slo, evaluate only those and print their figures."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--slo", type=int, action="append", default=[], metavar="ID", help="An SLO's id."
        )

    def handle(self, *args, slo: list[int], **options) -> None:
        if not slo:
            counts = evaluation.evaluate_all()
            self.stdout.write(", ".join(f"{state}: {n}" for state, n in counts.items()))
            return
        found = {item.pk: item for item in SLO.objects.select_related("service").filter(pk__in=slo)}
        missing = sorted(set(slo) - set(found))
        if missing:
            raise CommandError(f"No SLO with id {', '.join(map(str, missing))}.")
        for pk in slo:
            self.stdout.write(self._line(evaluation.evaluate(found[pk])))

    def _line(self, slo: SLO) -> str:
        if slo.sli is None:
            return f"{slo}: {slo.state} ({slo.last_error or 'not evaluated'})"
        minutes = budget.slo_budget_minutes(slo)
        burns = ", ".join(
            f"{window} {rate:.3g}×" if rate is not None else f"{window} -"
            for window, rate in slo.burn_rates.items()
        )
        alert = f", alert: {slo.alert}" if slo.alert else ""
        return (
            f"{slo}: {slo.state}{alert}; SLI {slo.sli:.5%}, budget left "
            f"{slo.budget_remaining:.1%} ({minutes:.1f} min of full outage); burn rates {burns}"
        )
