"""The Celery application, and the task class every task of the project uses.

Settings come from Django's settings under the ``CELERY_`` prefix.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

from celery import Celery, Task
from django.db import transaction
from kombu.exceptions import OperationalError

# What a broker that is down or unreachable raises; anything else (a task that cannot be
# serialized, a bug) is raised as usual.
BROKER_ERRORS = (OperationalError, ConnectionError, OSError)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relcal.settings")

logger = logging.getLogger(__name__)


class TransactionAwareTask(Task):
    """A task that is handed to the broker only once the surrounding transaction commits (at
    once outside one), so a rolled-back request enqueues nothing and a worker never looks for a
    row not yet visible; and whose sending never raises: a web request must not fail or hang
    because the broker is down. What a lost task was for is caught up by the periodic scan.

    ``apply_async`` (and so ``delay``) returns the result handle, or None when the send waits
    for the commit or the broker refused it (logged). In the spirit of pretix's
    ``TransactionAwareTask``: the rule lives in the class, so no caller can forget it. Beat
    sends through it too: a tick the broker refuses is logged and skipped, as before, and the
    next tick scans.
    """

    def apply_async(self, args=None, kwargs=None, **options):
        return _after_commit(lambda: self.send_now(args, kwargs, **options))

    def send_now(self, args=None, kwargs=None, **options):
        """Hand the task to the broker now (or run it, when eager); None if the broker refused."""
        # Fail fast when the broker is down (the connection timeouts are in the settings).
        options.setdefault("retry", False)
        try:
            return super().apply_async(args, kwargs, **options)
        except BROKER_ERRORS:
            logger.warning(
                "Could not enqueue %s%r; the scan will catch up.",
                self.name,
                tuple(args or ()),
                exc_info=True,
            )
            return None

    def apply_each(
        self,
        args_list: Iterable[tuple],
        *,
        on_broker_failure: Callable[[], object] | None = None,
    ) -> None:
        """Hand one task per args tuple to the broker after commit, stopping at the first that
        it refuses (each refusal costs a connection timeout), then call ``on_broker_failure``."""
        args_list = list(args_list)

        def send_all() -> None:
            for args in args_list:
                if self.send_now(args) is None:
                    if on_broker_failure is not None:
                        on_broker_failure()
                    return

        _after_commit(send_all)


def _after_commit(function: Callable):
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(function)
        return None
    return function()


app = Celery("relcal", task_cls=TransactionAwareTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
