"""``manage.py verify_audit [--expect-head SEQ:HASH]``: prove the audit trail intact.

Exit status 0 when every event links to the one before and hashes to its stored hash, the head
(if given) is still in the chain, and every sign-off matches the snapshot and fingerprint the
trail recorded for it. Otherwise 1, naming the first broken ``seq`` and the kind of break.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from approvals import chain, triggers


class Command(BaseCommand):
    help = "Walk the audit hash chain and check the sign-offs against it; print the head."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--expect-head",
            metavar="SEQ:HASH",
            help="A head printed by an earlier run (kept outside the database): fail unless it "
            "is still in the chain.",
        )
        parser.add_argument(
            "--repair",
            action="store_true",
            help="First install the append-only triggers and their guard again (as the owner).",
        )

    def handle(self, *args, expect_head: str | None = None, repair: bool = False, **options):
        if repair:
            # Drop and create the guard and its triggers again (they refuse more, never less).
            with transaction.atomic():
                triggers.install(connection)
            self.stdout.write("Append-only triggers and guard function installed.")
        missing = sorted(set(triggers.expected(connection)) - set(triggers.installed(connection)))
        if missing:
            self.stderr.write(
                f"Warning: the append-only triggers {', '.join(missing)} are missing or "
                "disabled; run `manage.py verify_audit --repair` as the tables' owner to install "
                "them again."
            )
        if not triggers.function_intact(connection):
            self.stderr.write(
                "Warning: the append-only guard function relcal_append_only() is not the one "
                "this version of Relcal installs; run `manage.py verify_audit --repair` as the "
                "tables' owner to install it again."
            )
        report = chain.verify(expect_head)
        if report.broken is not None:
            raise CommandError(f"Audit trail {report.broken}.", returncode=1)
        if report.signoff_problems:
            problems = "; ".join(report.signoff_problems)
            raise CommandError(f"Sign-offs do not match the audit trail: {problems}.", returncode=1)
        self.stdout.write(
            f"Audit trail intact: {report.events} events, {report.signoffs} sign-offs checked."
        )
        self.stdout.write(f"Head: seq {report.head_seq} hash {report.head_hash}")
        self.stdout.write(
            "Keep the head outside the database; check later with "
            f"`manage.py verify_audit --expect-head {report.head}`."
        )
