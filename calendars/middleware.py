"""Feeds' 304s before the rest of the stack, as whitenoise answers static files.

Calendar clients poll their feeds, and nearly every answer is a 304 that the feed's remembered
answer decides (``calendars.freshness``): one cache read. Sessions, CSRF, authentication, the
audit context, time zones, messages and the lockout check have nothing to do for it, and
together cost about as much again as the rest of the request. Placed after the request metrics
(which still count it, under the feed's view), this middleware answers those 304s and lets every
other request through.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .feeds import early_not_modified


class FeedNotModifiedMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = early_not_modified(request)
        return response if response is not None else self.get_response(request)
