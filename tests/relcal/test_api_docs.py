"""The interactive API docs work without internet access: Swagger UI is served locally."""

from __future__ import annotations

import re

import pytest


@pytest.mark.django_db
def test_the_api_docs_load_their_assets_from_this_server(client, alice):
    client.force_login(alice)
    page = client.get("/api/v1/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert assets, page
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert client.get(asset).status_code == 200, asset
