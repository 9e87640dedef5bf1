"""Release readiness: the builds CI reports (release candidates), their check results (quality
gates), each team's gate policy, waivers, and the verdict (GO, NO-GO, PENDING) computed from a
small registry of gates.

- ``models``: ``ReleaseCandidate``, ``CheckReport``, ``GatePolicy``, ``Waiver``;
- ``reports``: JUnit XML and SARIF uploads turned into a check's status and counts;
- ``gates``: the registry (``register_gate``) and the built-in gates;
- ``verdict``: every gate of a release evaluated for its current candidate, and the verdict;
- ``services``: candidate and check reports, waivers, gate policies (atomic, audited).
"""
