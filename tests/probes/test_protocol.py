"""The signed envelope: authentic, fresh, of the expected kind, or refused."""

from __future__ import annotations

import copy

import pytest

from probes import protocol

SECRET = "s3cret-for-tests"


def sealed(**overrides):
    envelope = protocol.seal("alpha", protocol.KIND_RESULT, {"run_id": 1}, SECRET)
    envelope.update(overrides)
    return envelope


def test_it_opens_what_it_sealed():
    envelope = sealed()
    assert protocol.open_(envelope, SECRET, protocol.AGENT_KINDS)["body"] == {"run_id": 1}


def test_it_refuses_a_tampered_body():
    envelope = sealed()
    envelope["body"]["run_id"] = 2
    with pytest.raises(protocol.BadEnvelope, match="bad signature"):
        protocol.open_(envelope, SECRET, protocol.AGENT_KINDS)


def test_it_refuses_another_hosts_name_on_a_signed_envelope():
    envelope = sealed()
    envelope["host"] = "beta"
    with pytest.raises(protocol.BadEnvelope, match="bad signature"):
        protocol.open_(envelope, SECRET, protocol.AGENT_KINDS)


def test_it_refuses_a_non_ascii_signature_without_crashing():
    with pytest.raises(protocol.BadEnvelope, match="bad signature"):
        protocol.open_(sealed(sig="é" * 64), SECRET, protocol.AGENT_KINDS)


def test_it_refuses_the_wrong_secret():
    with pytest.raises(protocol.BadEnvelope, match="bad signature"):
        protocol.open_(sealed(), "other-secret", protocol.AGENT_KINDS)


def test_it_refuses_an_old_timestamp_as_a_replay():
    old = protocol.seal("alpha", protocol.KIND_RESULT, {}, SECRET, now=1_000_000)
    with pytest.raises(protocol.BadEnvelope, match="replay"):
        protocol.open_(old, SECRET, protocol.AGENT_KINDS)
    assert protocol.open_(old, SECRET, protocol.AGENT_KINDS, now=1_000_010)


def test_it_refuses_a_dispatch_where_a_result_is_expected():
    dispatch = protocol.seal("alpha", protocol.KIND_DISPATCH, {}, SECRET)
    with pytest.raises(protocol.BadEnvelope, match="unexpected kind"):
        protocol.open_(dispatch, SECRET, protocol.AGENT_KINDS)


@pytest.mark.parametrize(
    "junk", [None, [], "x", {"host": "UPPER"}, {"host": "alpha"}, {"host": "../etc"}]
)
def test_it_refuses_junk_with_a_clear_error(junk):
    with pytest.raises(protocol.BadEnvelope):
        protocol.open_(copy.deepcopy(junk), SECRET, protocol.AGENT_KINDS)


def test_it_names_host_queues_only_for_valid_names():
    assert protocol.host_queue("lab-1") == "host.lab-1"
    with pytest.raises(ValueError):
        protocol.host_queue("a.b")
