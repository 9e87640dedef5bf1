"""Domain conflicts reach API clients as 409 with the sentence and the machine-readable part."""

from __future__ import annotations

from datetime import UTC, datetime

from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from relcal.errors import Conflict


class Refuses(APIView):
    authentication_classes = []
    permission_classes = []

    def post(self, request):
        raise Conflict(
            "staging is held by Search (“reindex”) until 16:00.",
            details={
                "conflict": {"id": 7},
                "suggested": {"start": datetime(2026, 12, 1, tzinfo=UTC)},
            },
        )


def test_a_domain_conflict_is_a_409_naming_it():
    response = Refuses.as_view()(APIRequestFactory().post("/"))
    response.render()
    assert response.status_code == 409
    assert response.data["detail"] == "staging is held by Search (“reindex”) until 16:00."
    assert response.data["conflict"] == {"id": 7}
    assert b'"start":"2026-12-01T00:00:00Z"' in response.content
