"""CSV formula injection: every CSV export writes text a spreadsheet would run as a formula
(starting with =, +, -, @, tab or CR) with a leading apostrophe, event rows included, while
the JSON exports stay verbatim and the event hashes can still be recomputed from the CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from approvals.models import Decision
from relcal.audit import HASHED_FIELDS, canonical_json, sha256
from relcal.csv import FORMULA_STARTS, neutralise, restore

from .conftest import walk

FORMULA = '=HYPERLINK("http://evil.example","x")'


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


@pytest.fixture
def rejected(frozen, manager, sign, priya):
    """A release named like a formula whose product approver rejected it with a formula."""
    release = walk(frozen(name="@SUM(1+1)*cmd"), manager, "testing")
    sign(priya, release, "product", Decision.REJECT, comment=FORMULA)
    return release


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_cell_starting_like_a_formula_gets_a_leading_apostrophe(start):
    assert neutralise(f"{start}1+1") == f"'{start}1+1"
    assert restore(neutralise(f"{start}1+1")) == f"{start}1+1"


def test_plain_text_and_numbers_are_left_alone_and_an_apostrophe_is_doubled():
    assert neutralise("Payments 2.4") == "Payments 2.4"
    assert neutralise(-1) == -1  # a number is a number
    # A value that starts with ' itself gets one more, so removing one always gives the value.
    assert neutralise("'=1") == "''=1"
    assert restore("''=1") == "'=1"


def test_the_release_evidence_csv_writes_comments_and_names_as_text(client, quinn, rejected):
    client.force_login(quinn)
    response = client.get(reverse("approvals:evidence-csv", args=[rejected.pk]))
    assert response.status_code == 200
    rows = csv_rows(response.content)
    [signoff] = [r for r in rows if r["record"] == "signoff"]
    assert signoff["comment"] == f"'{FORMULA}"
    events = [r for r in rows if r["record"] == "event"]
    assert events
    assert "'@SUM(1+1)*cmd" in {r["object_repr"] for r in events}
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row.values() if cell)


def test_the_audit_csv_writes_release_names_as_text(client, quinn, rejected):
    client.force_login(quinn)
    response = client.get(reverse("approvals:audit-csv"))
    assert response.status_code == 200
    rows = csv_rows(b"".join(response.streaming_content))
    assert "'@SUM(1+1)*cmd" in {r["object_repr"] for r in rows}
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row.values() if cell)


def test_the_json_exports_keep_the_raw_values(client, quinn, rejected):
    client.force_login(quinn)
    data = json.loads(client.get(reverse("approvals:evidence-json", args=[rejected.pk])).content)
    assert data["signoffs"][0]["comment"] == FORMULA
    assert "@SUM(1+1)*cmd" in {e["object_repr"] for e in data["events"]}
    events = json.loads(b"".join(client.get(reverse("approvals:audit-json")).streaming_content))
    assert "@SUM(1+1)*cmd" in {e["object_repr"] for e in events}


def test_the_hashes_can_be_recomputed_from_the_audit_csv(client, quinn, rejected):
    """As the README says: remove one leading ' from a text cell; seq, actor_id and release_id
    are numbers, before and after JSON, and an empty actor_id, release_id, before or after is
    null."""
    client.force_login(quinn)
    rows = csv_rows(b"".join(client.get(reverse("approvals:audit-csv")).streaming_content))
    numbers = ("seq", "actor_id", "release_id")
    for row in rows:
        fields = {}
        for name in HASHED_FIELDS:
            cell = restore(row[name])
            if cell == "" and name in (*numbers, "before", "after"):
                fields[name] = None
            elif name in numbers:
                fields[name] = int(cell)
            elif name in ("before", "after"):
                fields[name] = json.loads(cell)
            else:
                fields[name] = cell
        assert sha256(row["prev_hash"] + canonical_json(fields)) == row["hash"]
