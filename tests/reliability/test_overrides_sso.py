"""An SRE who signs in through the company's provider overrides the error-budget gate from the
release page: the provider asks for the password again, and the override is recorded only when
they come back. Through the API, a signing ticket takes the password's place."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts import oidc as relcal_oidc
from approvals.models import AuditEvent
from releases import services
from reliability.models import BudgetOverride
from reliability.permissions import SRE as SRE_GROUP
from tests.accounts.sso import Person, configure, identity_of, relative
from tests.reliability.budget_helpers import evaluated

REASON = "The burn came from the card network's outage, not from us."


@pytest.fixture
def blocked(make_release, manager, make_slo):
    release = make_release()
    services.release_transition(actor=manager, release=release, to_state="planned")
    evaluated(make_slo("availability"), "exhausted", -0.12)
    return release


@pytest.fixture
def sol(client, oidc, settings, payments):
    """An SRE at the provider (the SRE group granted in Relcal), signed in through it."""
    configure(settings, oidc)
    oidc.set_account("sol", password="pw-sol", groups=["payments-devs"])
    sol = Person(client, oidc, "sol", "pw-sol")
    sol.sign_in()
    identity_of("sol").user.groups.add(Group.objects.get(name=SRE_GROUP))
    yield sol
    relcal_oidc.forget_metadata()


def test_an_override_from_the_page_goes_through_the_provider(sol, blocked):
    url = reverse("reliability:budget-override", args=[blocked.pk])
    page = sol.client.get(blocked.get_absolute_url()).content.decode()
    assert "Acme SSO asks for your password again" in page
    start = sol.client.post(url, {"reason": REASON})
    assert start.status_code == 302 and not BudgetOverride.objects.exists()
    back_to_form = sol.to_provider_and_back(start["Location"])
    done = sol.client.get(back_to_form["Location"], follow=True)
    assert "You overrode the error-budget gate" in done.content.decode()
    override = BudgetOverride.objects.get()
    assert override.release == blocked and override.signer.identity.subject == "sol"
    event = AuditEvent.objects.get(action="budget_override.create")
    assert event.after["authentication"]["method"] == "identity provider"


def test_the_api_takes_a_signing_ticket(sol, blocked, api):
    start = sol.client.post("/accounts/signing-ticket/")
    back = sol.provider.sign_in(
        start["Location"], login="sol", password="pw-sol", session=sol.browser
    )
    ticket = sol.client.get(sol.client.get(relative(back.url))["Location"]).context["ticket"]
    answer = api.as_user(identity_of("sol").user).post(
        "/api/v1/budget-overrides/",
        {"release": blocked.pk, "reason": REASON, "signing_ticket": ticket},
        format="json",
    )
    assert answer.status_code == 201, answer.content
