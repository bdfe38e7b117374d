"""Two users claiming the same item for the same stakeholder at the same moment."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from roadmap.models import Claim, RoadmapItem, Stakeholder
from roadmap.services import claims

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the race needs a database with concurrent writers: set DATABASE_URL to PostgreSQL",
)


@pytest.mark.django_db(transaction=True)
def test_it_ends_a_simultaneous_claim_race_with_one_row_and_clear_errors():
    from roadmap.services.seed import seed_load

    from ..conftest import _user

    seed_load()
    users = [_user(f"ibm-{n}", "ibm") for n in range(8)]
    item = RoadmapItem.objects.get(slug="net-namespace")
    ibm = Stakeholder.objects.get(slug="ibm")
    start = threading.Barrier(len(users))
    outcomes: list[object] = []

    def contender(user) -> None:
        try:
            start.wait()
            claims.claim_create(user, item, ibm, "lead")
            outcomes.append("claimed")
        except Exception as exc:  # noqa: BLE001 - every outcome is recorded and checked
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=contender, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert outcomes.count("claimed") == 1
    errors = [o for o in outcomes if o != "claimed"]
    assert len(errors) == len(users) - 1
    assert all(isinstance(e, claims.AlreadyClaimed) for e in errors), errors
    assert Claim.objects.filter(item=item, stakeholder=ibm).count() == 1
