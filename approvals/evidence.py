"""What a release's evidence holds, row by row, for the page and the JSON and CSV downloads
(``approvals.views``): sign-offs, builds with their check reports, waivers, and audit events
with the links of the hash chain; and the records other apps register (``register_records``).

CSV cells are data: text that a spreadsheet would run as a formula gets a leading apostrophe
(``relcal.csv.neutralise``), event rows included; removing it (``relcal.csv.restore``) gives the
values their hashes were computed from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from relcal.audit import format_timestamp
from relcal.csv import neutralise
from releases.models import Release

from . import chain
from .models import AuditEvent
from .readiness.models import CheckReport, ReleaseCandidate, Waiver

# What an export carries of each event: the hashed fields, then the links of the chain, so the
# chain can be re-checked outside Relcal.
# What an export carries of each event: the hashed fields, then the links of the chain, so the
# chain can be re-checked outside Relcal.
EVENT_COLUMNS = chain.COLUMNS


SIGNOFF_COLUMNS = (
    "signed_at",
    "signer_name",
    "signer_id",
    "role",
    "decision",
    "meaning",
    "comment",
    "fingerprint",
    "freshness",
)


# Builds, their checks and waivers share the columns that mean the same (the candidate's
# version, who reported it and when, an electronic signature's printed name and time).
CANDIDATE_COLUMNS = (
    "candidate",
    "commit_sha",
    "artifact_digest",
    "build_url",
    "current",
    "reported_by",
    "reported_by_id",
    "reported_at",
)


CHECK_COLUMNS = (
    "candidate",
    "check",
    "status",
    "summary",
    "url",
    "source",
    "reported_by",
    "reported_by_id",
    "reported_at",
)


WAIVER_COLUMNS = ("candidate", "gate", "reason", "signer_name", "signer_id", "signed_at")


def event_row(values: tuple) -> dict[str, Any]:
    row = dict(zip(EVENT_COLUMNS, values, strict=True))
    row["timestamp"] = format_timestamp(row["timestamp"])
    return row


def freshness(signoff) -> str:
    if signoff.stale:
        return "stale"
    return "superseded" if signoff.superseded else "current"


def signoff_row(signoff) -> dict[str, Any]:
    return {
        "signed_at": format_timestamp(signoff.signed_at),
        "signer_name": signoff.signer_name,
        "signer_id": signoff.signer_id,
        "role": signoff.role,
        "decision": signoff.decision,
        "meaning": signoff.get_meaning_display(),
        "comment": signoff.comment,
        "fingerprint": signoff.fingerprint,
        "freshness": freshness(signoff),
    }


def reporter(user) -> str:
    return user.get_full_name() or user.username


def candidate_row(candidate: ReleaseCandidate, current: bool) -> dict[str, Any]:
    return {
        "candidate": candidate.version,
        "commit_sha": candidate.commit_sha,
        "artifact_digest": candidate.artifact_digest,
        "build_url": candidate.build_url,
        "current": current,
        "reported_by": reporter(candidate.reported_by),
        "reported_by_id": candidate.reported_by_id,
        "reported_at": format_timestamp(candidate.reported_at),
    }


def check_row(report: CheckReport, candidate: ReleaseCandidate) -> dict[str, Any]:
    return {
        "candidate": candidate.version,
        "check": report.name,
        "status": report.status,
        "summary": report.summary,
        "url": report.url,
        "source": report.source,
        "reported_by": reporter(report.reported_by),
        "reported_by_id": report.reported_by_id,
        "reported_at": format_timestamp(report.reported_at),
    }


def waiver_row(waiver: Waiver, candidate: ReleaseCandidate) -> dict[str, Any]:
    return {
        "candidate": candidate.version,
        "gate": waiver.gate,
        "reason": waiver.reason,
        "signer_name": waiver.signer_name,
        "signer_id": waiver.signer_id,
        "signed_at": format_timestamp(waiver.signed_at),
    }


def candidates(release: Release) -> list[ReleaseCandidate]:
    """Every build of ``release``, oldest first, with its check reports and waivers (three
    queries, whatever their number)."""
    return list(
        ReleaseCandidate.objects.filter(release=release)
        .select_related("reported_by")
        .prefetch_related(
            Prefetch(
                "checks",
                queryset=CheckReport.objects.select_related("reported_by").order_by(
                    "reported_at", "id"
                ),
            ),
            Prefetch("waivers", queryset=Waiver.objects.order_by("signed_at", "id")),
        )
        .order_by("reported_at", "id")
    )


def chain_head() -> dict[str, Any] | None:
    head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    return head


class Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def json_cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def event_cells(event: dict[str, Any]) -> list[Any]:
    """An event's CSV cells over ``EVENT_COLUMNS``: before and after as JSON text, every text
    cell neutralised (the JSON export carries every value verbatim)."""
    return [neutralise(json_cell(v) if c in ("before", "after") else v) for c, v in event.items()]


# The columns after the events', each once: the records after the sign-offs fill their own.
EXTRA_COLUMNS = tuple(
    dict.fromkeys(
        column
        for column in (*CANDIDATE_COLUMNS, *CHECK_COLUMNS, *WAIVER_COLUMNS)
        if column not in SIGNOFF_COLUMNS
    )
)


CSV_COLUMNS = (*SIGNOFF_COLUMNS, *EVENT_COLUMNS, *EXTRA_COLUMNS)


# --- Records other apps add to a release's evidence -------------------------------------------


@dataclass(frozen=True)
class Records:
    """A kind of record another app keeps about a release (e.g. reliability's post-release
    watches): ``rows(release)`` answers its rows, oldest first, in a fixed number of queries;
    each row a dict over ``columns`` (JSON values; lists and dicts are JSON text in the CSV)."""

    name: str  # the CSV's record type and the JSON's key, e.g. "deployment_watch"
    title: str  # the page's heading, e.g. "Post-release watches"
    columns: tuple[str, ...]
    rows: Callable[[Release], list[dict[str, Any]]]


_records: dict[str, Records] = {}


def register_records(
    name: str,
    *,
    title: str,
    columns: tuple[str, ...],
    rows: Callable[[Release], list[dict[str, Any]]],
) -> None:
    """Add a kind of record to every release's evidence page, JSON and CSV (registering the
    same name again replaces it)."""
    _records[name] = Records(name, title, tuple(columns), rows)


def registered_records() -> list[Records]:
    return list(_records.values())


def other_records(release: Release) -> list[tuple[Records, list[dict[str, Any]], list[list]]]:
    """Each registered kind of record with its rows for ``release``, and the rows' cells as
    the page shows them (lists and dicts as JSON text)."""
    out = []
    for records in registered_records():
        rows = records.rows(release)
        cells = [
            [
                json_cell(v) if isinstance(v, list | dict) else v
                for v in map(row.get, records.columns)
            ]
            for row in rows
        ]
        out.append((records, rows, cells))
    return out


def csv_columns() -> tuple[str, ...]:
    """``CSV_COLUMNS``, then the registered records' columns not among them, each once."""
    extra = (column for records in registered_records() for column in records.columns)
    return tuple(dict.fromkeys((*CSV_COLUMNS, *extra)))


def csv_cell(value: Any) -> Any:
    return neutralise(json_cell(value) if isinstance(value, list | dict) else value)


def record(writer, record: str, row: dict[str, Any]) -> str:
    return writer.writerow([record, *(csv_cell(row.get(c, "")) for c in csv_columns())])
