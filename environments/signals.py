"""What environments tells other apps, without importing them.

``deployment_finished(sender=Deployment, deployment=..., actor=...)`` is sent inside the
transaction that finishes a deployment (any outcome): reliability starts the post-release watch
of a production deployment that succeeded.
"""

from django.dispatch import Signal

deployment_finished = Signal()
