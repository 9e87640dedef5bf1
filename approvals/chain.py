"""Walking the audit hash chain: is it intact, and if not, where and how was it broken?

A row is *self-consistent* when its stored hash is the hash of its own content and prev_hash;
it *links* when its prev_hash is the hash of the row before it. The walk goes in ``seq`` order
and stops at the first row that is not both, then looks around to name the kind of break:

- missing: ``seq`` jumps (rows were deleted);
- edited: the row links but its content changed, or a successor still points at the row's
  original hash (the row, or the one before it, was rewritten with a recomputed hash);
- reordered: the row points at a row that now comes later;
- inserted: the row points further back than its predecessor (rows were slipped in between), or
  points at no row and no row points at it.

Deleting or rewriting the newest events leaves a shorter, self-consistent chain: only a head
kept outside the database (``--expect-head SEQ:HASH``) reveals that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from relcal.audit import GENESIS, HASHED_FIELDS, canonical_json, format_timestamp, sha256

from . import fingerprint as fp
from .models import AuditEvent, SignOff

COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
_TIMESTAMP = HASHED_FIELDS.index("timestamp")
_COUNT = len(HASHED_FIELDS)


@dataclass
class Break:
    seq: int | None
    kind: str  # edited, missing, inserted, reordered
    detail: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "the head"
        return f"broken at {where}: {self.kind} ({self.detail})"


@dataclass
class Report:
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    broken: Break | None = None
    signoffs: int = 0
    signoff_problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.broken is None and not self.signoff_problems

    @property
    def head(self) -> str:
        return f"{self.head_seq}:{self.head_hash}"


def canonical_rows(rows: Iterable[tuple]) -> Iterator[tuple[int, str, str, str]]:
    """(seq, canonical JSON, prev_hash, hash) for each row as read from the database."""
    names = HASHED_FIELDS
    dumps = canonical_json
    for row in rows:
        payload = dict(zip(names, row[:_COUNT], strict=True))
        payload["timestamp"] = format_timestamp(row[_TIMESTAMP])
        yield row[0], dumps(payload), row[_COUNT], row[_COUNT + 1]


def stored_rows(chunk_size: int = 5_000) -> Iterator[tuple]:
    return AuditEvent.objects.order_by("seq").values_list(*COLUMNS).iterator(chunk_size=chunk_size)


def _seq_of(hash_value: str) -> int | None:
    return AuditEvent.objects.filter(hash=hash_value).values_list("seq", flat=True).first()


def _classify(seq: int, prev_hash: str, stored: str, consistent: bool, expected_seq: int,
              expected_prev: str) -> Break:  # fmt: skip
    if seq > expected_seq:
        gap = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
        return Break(
            expected_seq, "missing", f"event {gap} is gone; {seq} follows {expected_seq - 1}"
        )
    if prev_hash == expected_prev:
        return Break(seq, "edited", "its content no longer matches its hash")
    target = _seq_of(prev_hash)
    if target is not None and target > seq:
        return Break(seq, "reordered", f"it points at event {target}, which now comes after it")
    if target is not None:
        return Break(
            target + 1,
            "inserted",
            f"event {seq} points at event {target}: what stands between them was inserted",
        )
    if AuditEvent.objects.filter(prev_hash=stored).exists():
        if consistent:
            return Break(
                seq - 1,
                "edited",
                f"event {seq - 1} was rewritten with a new hash; event {seq} still points at "
                "its original",
            )
        return Break(seq, "edited", "its link to the previous event was changed")
    return Break(seq, "inserted", "it points at no event of the chain and none points at it")


def walk(rows: Iterable[tuple] | None = None, report: Report | None = None) -> Report:
    """Check every link in ``seq`` order; stop at the first break."""
    report = report or Report()
    expected_seq, expected_prev = 1, GENESIS
    for seq, text, prev_hash, stored in canonical_rows(stored_rows() if rows is None else rows):
        consistent = sha256(prev_hash + text) == stored
        if not (consistent and seq == expected_seq and prev_hash == expected_prev):
            report.broken = _classify(
                seq, prev_hash, stored, consistent, expected_seq, expected_prev
            )
            return report
        report.events += 1
        expected_seq, expected_prev = seq + 1, stored
    report.head_seq, report.head_hash = expected_seq - 1, expected_prev
    return report


def check_head(report: Report, expected: str) -> None:
    """``expected`` is ``SEQ:HASH`` (or a bare hash) printed by an earlier run."""
    seq_text, _, hash_value = expected.strip().rpartition(":")
    seq = int(seq_text) if seq_text.isdigit() else None
    found = _seq_of(hash_value)
    if found is not None and (seq is None or found == seq):
        return
    if seq is not None and seq > report.head_seq:
        report.broken = Break(
            report.head_seq + 1,
            "missing",
            f"the recorded head is event {seq}; the chain now ends at {report.head_seq}",
        )
    elif seq is not None:
        report.broken = Break(
            seq, "edited", "this event is not the one recorded: the chain was rewritten from here"
        )
    else:
        report.broken = Break(
            None, "missing", "the recorded head is not in the chain any more (cut off or rewritten)"
        )


SIGNOFF_FIELDS = ("role", "decision", "meaning", "signer", "signer_name", "fingerprint")


def check_signoffs(report: Report) -> None:
    """Each sign-off against the event that recorded it: same signature, same snapshot, and a
    fingerprint that is the SHA-256 of that snapshot."""
    recorded = dict(
        AuditEvent.objects.filter(action="signoff.create", object_type="approvals.signoff")
        .values_list("object_id", "after")
        .iterator()
    )
    problems = report.signoff_problems
    for signoff in SignOff.objects.order_by("pk").iterator():
        report.signoffs += 1
        event = recorded.pop(str(signoff.pk), None)
        if event is None:
            problems.append(f"sign-off {signoff.pk} has no audit event")
            continue
        row = {
            "role": signoff.role,
            "decision": signoff.decision,
            "meaning": signoff.meaning,
            "signer": signoff.signer_id,
            "signer_name": signoff.signer_name,
            "fingerprint": signoff.fingerprint,
        }
        changed = [name for name in SIGNOFF_FIELDS if event.get(name) != row[name]]
        if changed:
            problems.append(f"sign-off {signoff.pk} differs from its event in {', '.join(changed)}")
        if fp.fingerprint(event.get("snapshot") or {}) != event.get("fingerprint"):
            problems.append(
                f"sign-off {signoff.pk}: the snapshot in the trail does not hash to its fingerprint"
            )
        if signoff.snapshot != event.get("snapshot"):
            problems.append(f"sign-off {signoff.pk}: its snapshot differs from the trail's")
    for pk in sorted(recorded, key=int):
        problems.append(f"sign-off {pk} is in the trail but missing from the table")


def verify(expect_head: str | None = None) -> Report:
    report = walk()
    if report.broken is None and expect_head:
        check_head(report, expect_head)
    check_signoffs(report)
    return report
