"""The host list and the offline-import upload on a host's page."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from probes import protocol
from probes.models import ProbeResult, ProbeRun
from probes.services import hosts


@pytest.fixture
def airgap(seeded):
    from probes.services.catalogue import catalogue_sync

    catalogue_sync()
    return hosts.host_enroll("airgap")


def signed_file(host, results=None, name="signed.json") -> SimpleUploadedFile:  # noqa: ANN001
    document = {
        "schema": 1,
        "facts": {"kernel": {"release": "6.18.44-test"}},
        "results": results
        if results is not None
        else [{"probe_id": "ns.uts.isolation", "status": "pass", "detail": "seen"}],
    }
    envelope = protocol.seal(host.name, protocol.KIND_IMPORT, document, host.secret)
    return SimpleUploadedFile(name, json.dumps(envelope).encode(), "application/json")


def test_it_lists_hosts_without_their_secrets(client, airgap):
    body = client.get(reverse("host_list")).content.decode()
    assert "airgap" in body
    assert airgap.secret not in body


def test_it_sends_anonymous_users_to_sign_in(client, airgap):
    response = client.get(reverse("host_import", args=["airgap"]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["ibm_member", "outsider"])
def test_it_refuses_non_maintainers(client, airgap, persona, request):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(reverse("host_import", args=["airgap"]), {"file": signed_file(airgap)})
    assert response.status_code == 403
    assert not ProbeRun.objects.exists()


def test_it_imports_once_for_a_maintainer(client, airgap, maintainer):
    client.force_login(maintainer)
    url = reverse("host_import", args=["airgap"])
    upload = signed_file(airgap)
    first = client.post(url, {"file": upload}, follow=True)
    assert "Imported run" in first.content.decode()
    upload.seek(0)
    second = client.post(url, {"file": upload}, follow=True)
    assert "nothing added" in second.content.decode()
    assert (ProbeRun.objects.count(), ProbeResult.objects.count()) == (1, 1)


@pytest.mark.parametrize(
    "make_file, message",
    [
        (lambda h: SimpleUploadedFile("x.json", b"{nope", "application/json"), "not JSON"),
        (lambda h: SimpleUploadedFile("x.json", b"[1, 2]", "application/json"), "not signed for"),
        (lambda h: signed_file(hosts.host_enroll("other")), "not signed for airgap"),
        (
            lambda h: signed_file(h, results=[{"probe_id": "nope", "status": "pass"}]),
            "unknown probe",
        ),
    ],
)
def test_it_rejects_bad_files_clearly_and_stores_nothing(
    client, airgap, maintainer, make_file, message
):
    client.force_login(maintainer)
    response = client.post(reverse("host_import", args=["airgap"]), {"file": make_file(airgap)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ProbeRun.objects.exists()
