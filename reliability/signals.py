"""What reliability tells its receivers (connected in ``ReliabilityConfig.ready``).

``slo_evaluated(sender=SLO, slo=..., previous_state=..., now=...)`` is sent after an SLO's new
figures are stored (inside the evaluation's transaction): the error-budget policy opens or ends
freezes from it, and the post-release watch looks for page-level burns.
"""

from django.dispatch import Signal

slo_evaluated = Signal()
