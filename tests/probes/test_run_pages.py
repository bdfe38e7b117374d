"""The host page, starting and cancelling runs, and the live run page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from probes.models import ProbeRun

from .factories import host, observe


@pytest.fixture
def lab(seeded):
    from probes.services.catalogue import catalogue_sync

    catalogue_sync()
    return host("lab")


def start(client, name="lab", **data):  # noqa: ANN001
    return client.post(reverse("run_start", args=[name]), data)


def test_it_shows_a_host_offline_until_its_heartbeat(client, lab):
    body = client.get(reverse("host_detail", args=["lab"])).content.decode()
    assert "offline" in body and "never" in body
    assert lab.secret not in body


@pytest.mark.parametrize("persona", ["ibm_member", "outsider"])
def test_it_lets_only_maintainers_start_and_cancel_runs(client, lab, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert start(client).status_code == 403
    assert not ProbeRun.objects.exists()
    run = observe("lab", "6.18.0", {"ns.uts.isolation": "pass"})
    ProbeRun.objects.filter(pk=run.pk).update(state="running")
    assert client.post(reverse("run_cancel", args=[run.pk])).status_code == 403


def test_it_starts_a_run_for_a_maintainer_and_lands_on_its_page(
    client, lab, maintainer, django_capture_on_commit_callbacks
):
    client.force_login(maintainer)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = start(client, only="ns.uts.* keys.basic")
    run = ProbeRun.objects.get()
    assert response["Location"] == reverse("run_detail", args=[run.pk])
    assert (run.probe_ids, len(sent)) == (["ns.uts.isolation", "keys.basic"], 1)
    page = client.get(response["Location"]).content.decode()
    assert 'max="2" value="0"' in page and "Cancel the run" in page
    client.post(reverse("run_cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.state == "cancelled"


def test_it_explains_a_refused_run(client, lab, maintainer):
    client.force_login(maintainer)
    response = start(client, only="nope.*")
    assert response.status_code == 400
    assert "no probe matches" in response.content.decode()
    assert not ProbeRun.objects.exists()


def test_it_serves_the_progress_fragment_as_results_arrive(client, lab):
    run = observe("lab", "6.18.0", {"ns.uts.isolation": "pass", "ns.ipc.isolation": "fail"})
    fragment = client.get(reverse("run_progress", args=[run.pk])).content.decode()
    assert 'data-final="true"' in fragment
    assert "2 of 2 results (100 %)" in fragment
    assert "ns.ipc.isolation" in fragment
