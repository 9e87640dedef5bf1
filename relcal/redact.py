"""Secrets kept out of the log: a feed token is a password in a URL, and Django's "Not Found"
warning (logger ``django.request``) would otherwise write every revoked or mistyped one."""

from __future__ import annotations

import logging
import re

# /feeds/<token>.ics, but not the public feed (no secret in its name).
FEED_TOKEN = re.compile(r"(/feeds/)(?!public\.ics)[-\w]+(\.ics)")
REDACTED = r"\1[redacted]\2"


def redact(text: str) -> str:
    """``text`` with every feed token in a path replaced by ``[redacted]``."""
    return FEED_TOKEN.sub(REDACTED, text)


class RedactFeedTokens(logging.Filter):
    """A logging filter that rewrites the record's message and arguments, never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True
