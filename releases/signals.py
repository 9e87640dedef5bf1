"""Signals other apps use to take part in the release lifecycle without ``releases`` importing
them (see DESIGN.md: ``approvals`` may import ``releases``, never the other way round).

Both are sent with ``send()``, not ``send_robust()``: a receiver's exception propagates into
the service, so the whole transition rolls back.

- ``transition_requested(sender=Release, release, from_state, to_state, actor)``: before a
  transition is stored, with the release locked. A receiver refuses the step by raising
  ``ValidationError`` (keyed ``to_state``), e.g. the sign-off gate in front of ``approved``.
- ``transitioned(sender=Release, release, from_state, to_state, actor, step)``: after the step
  and its audit event are stored, in the same transaction, e.g. to take the release's approval
  requirements when its scope freezes.
"""

from __future__ import annotations

from django.dispatch import Signal

transition_requested = Signal()
transitioned = Signal()
