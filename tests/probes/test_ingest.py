"""Ingest, dispatch and the reaper, through the services against the real database."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from probes import protocol
from probes.models import Host, Kernel, LatestResult, ProbeResult, ProbeRun, SeenMessage
from probes.services import hosts, ingest, runs

RELEASE = "6.18.44-test"


@pytest.fixture
def catalogue(seeded):
    from probes.services.catalogue import catalogue_sync

    catalogue_sync()


@pytest.fixture
def alpha(catalogue):
    return hosts.host_enroll("alpha")


@pytest.fixture
def beta(catalogue):
    return hosts.host_enroll("beta")


@pytest.fixture
def run(alpha, django_capture_on_commit_callbacks):
    # Dispatch without a broker: the on-commit send is captured, not executed.
    with django_capture_on_commit_callbacks(execute=False) as sent:
        queued = runs.run_dispatch(alpha, only=["ns.uts.*", "ns.ipc.*"])
    assert len(sent) == 1
    return queued


def envelope(host: Host, kind: str, body: dict, **kw) -> dict:
    return protocol.seal(host.name, kind, body, host.secret, **kw)


def result_body(run: ProbeRun, probe_id: str, status: str = "pass", release: str = RELEASE):
    return {
        "run_id": run.pk,
        "kernel_release": release,
        "result": {
            "probe_id": probe_id,
            "status": status,
            "detail": "observed",
            "evidence": {"x": 1},
            "duration_ms": 3.5,
            "config": {},
        },
    }


def test_it_activates_a_host_on_its_first_heartbeat_and_records_its_kernel(alpha):
    facts = {"kernel": {"release": RELEASE}, "hostname": "alpha"}
    assert ingest.envelope_ingest(envelope(alpha, "heartbeat", {"facts": facts})) == "stored"
    alpha.refresh_from_db()
    assert (alpha.state, alpha.kernel.release, alpha.facts) == ("active", RELEASE, facts)
    assert alpha.last_seen_at is not None


def test_it_shows_a_reboot_into_a_new_kernel_as_a_new_kernel(alpha):
    for release in (RELEASE, "6.19.0-rc1"):
        ingest.envelope_ingest(
            envelope(alpha, "heartbeat", {"facts": {"kernel": {"release": release}}})
        )
    alpha.refresh_from_db()
    assert alpha.kernel.release == "6.19.0-rc1"
    assert list(Kernel.objects.values_list("release", flat=True)) == [RELEASE, "6.19.0-rc1"]


def test_it_stores_results_once_and_closes_the_run(run, alpha):
    first, second = run.probe_ids
    message = envelope(alpha, "result", result_body(run, first))
    assert ingest.envelope_ingest(message) == "stored"
    assert ingest.envelope_ingest(message) == "duplicate"  # the same message redelivered
    again = envelope(alpha, "result", result_body(run, first, status="fail"))
    assert ingest.envelope_ingest(again) == "duplicate"  # a new message for a stored pair
    run.refresh_from_db()
    assert (run.state, run.received) == ("running", 1)
    ingest.envelope_ingest(
        envelope(alpha, "result", result_body(run, second, status="unsupported"))
    )
    run.refresh_from_db()
    assert (run.state, run.received, run.counts) == ("done", 2, {"pass": 1, "unsupported": 1})
    assert ProbeResult.objects.filter(run=run).count() == 2
    latest = LatestResult.objects.get(probe_id=first)
    assert (latest.status, latest.ever_passed, latest.kernel.release) == ("pass", True, RELEASE)


def test_it_keeps_the_latest_index_current_and_remembers_a_pass(
    run, alpha, django_capture_on_commit_callbacks
):
    probe_id = run.probe_ids[0]
    ingest.envelope_ingest(envelope(alpha, "result", result_body(run, probe_id)))
    with django_capture_on_commit_callbacks(execute=False):
        later = runs.run_dispatch(alpha, only=[probe_id])
    ingest.envelope_ingest(envelope(alpha, "result", result_body(later, probe_id, status="fail")))
    latest = LatestResult.objects.get(probe_id=probe_id)
    assert (latest.status, latest.ever_passed, latest.result.run_id) == ("fail", True, later.pk)
    assert LatestResult.objects.count() == 1


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda run, a, b: {
                **envelope(a, "result", result_body(run, run.probe_ids[0])),
                "sig": "0" * 64,
            },
            id="bad-signature",
        ),
        pytest.param(
            lambda run, a, b: {
                **envelope(a, "result", result_body(run, run.probe_ids[0])),
                "host": "beta",
            },
            id="another-hosts-name",
        ),
        pytest.param(
            lambda run, a, b: envelope(b, "result", result_body(run, run.probe_ids[0])),
            id="another-hosts-run",
        ),
        pytest.param(
            lambda run, a, b: envelope(a, "result", result_body(run, run.probe_ids[0]), now=0),
            id="replayed-old-timestamp",
        ),
        pytest.param(
            lambda run, a, b: protocol.seal(
                "ghost", "result", result_body(run, run.probe_ids[0]), a.secret
            ),
            id="unknown-host",
        ),
        pytest.param(
            lambda run, a, b: envelope(a, "result", result_body(run, "ns.pid.isolation")),
            id="probe-not-in-run",
        ),
        pytest.param(
            lambda run, a, b: envelope(
                a, "result", result_body(run, run.probe_ids[0], status="great")
            ),
            id="bad-status",
        ),
        pytest.param(
            lambda run, a, b: envelope(a, "result", {"run_id": "1; drop"}), id="malformed-body"
        ),
        pytest.param(lambda run, a, b: "not an envelope", id="not-json-object"),
    ],
)
def test_it_rejects_forged_or_malformed_results_and_stores_nothing(forge, run, alpha, beta, caplog):
    with (
        caplog.at_level(logging.WARNING, logger="probes.services.ingest"),
        pytest.raises(ingest.Rejected),
    ):
        ingest.envelope_ingest(forge(run, alpha, beta))
    assert "rejected" in caplog.text
    assert alpha.secret not in caplog.text and beta.secret not in caplog.text
    assert not ProbeResult.objects.exists()
    assert not LatestResult.objects.exists()
    assert not SeenMessage.objects.exists()
    run.refresh_from_db()
    assert (run.state, run.received) == ("queued", 0)


def test_it_ignores_results_for_a_cancelled_run(run, alpha):
    runs.run_cancel(run)
    assert (
        ingest.envelope_ingest(envelope(alpha, "result", result_body(run, run.probe_ids[0])))
        == "ignored"
    )
    assert not ProbeResult.objects.exists()
    with pytest.raises(runs.RunError, match="already cancelled"):
        runs.run_cancel(run)


def test_it_marks_silent_runs_lost_and_leaves_live_ones(
    run, alpha, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        fresh = runs.run_dispatch(alpha, only=["ns.uts.*"])
    ProbeRun.objects.filter(pk=run.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    assert runs.runs_reap_lost() == 1
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert (run.state, fresh.state) == ("lost", "queued")
    assert run.finished_at is not None


def test_it_completes_a_lost_run_when_its_results_arrive_after_all(run, alpha):
    ProbeRun.objects.filter(pk=run.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    runs.runs_reap_lost()
    for probe_id in run.probe_ids:
        ingest.envelope_ingest(envelope(alpha, "result", result_body(run, probe_id)))
    run.refresh_from_db()
    assert run.state == "done"


def test_it_refuses_runs_that_cannot_be_dispatched(alpha):
    with pytest.raises(runs.RunError, match="no probe matches"):
        runs.run_dispatch(alpha, only=["nope.*"])
    with pytest.raises(runs.RunError, match="intrusive probes are not allowed"):
        runs.run_dispatch(alpha, intrusive=True)
    alpha.state = "retired"
    alpha.save(update_fields=["state"])
    with pytest.raises(runs.RunError, match="retired"):
        runs.run_dispatch(alpha)
    assert not ProbeRun.objects.exists()


def test_it_schedules_the_full_suite_on_active_hosts_only(
    alpha, beta, django_capture_on_commit_callbacks
):
    Host.objects.filter(pk=alpha.pk).update(state="active")
    with django_capture_on_commit_callbacks(execute=False) as sent:
        scheduled = runs.runs_schedule()
        again = runs.runs_schedule()  # alpha still has an open run: nothing piles up
    assert [r.host.name for r in scheduled] == ["alpha"]
    assert again == []
    assert len(sent) == 1
    from probes.engine import catalogue

    assert scheduled[0].expected == len(catalogue.select())
    assert scheduled[0].trigger == "schedule"


def test_it_keeps_every_task_time_limit_below_the_broker_visibility_timeout(settings, monkeypatch):
    monkeypatch.setenv("AGENT_BROKER_URL", "redis://127.0.0.1:6379/9")
    monkeypatch.setenv("AGENT_HOST", "alpha")
    monkeypatch.setenv("AGENT_SECRET", "x")
    import probes.tasks  # noqa: F401 - registers the central tasks
    from probes.agent import app as agent_app
    from roadmap.celery import app as central_app

    visibility = protocol.VISIBILITY_TIMEOUT
    assert (
        settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", visibility) == visibility
    )
    assert agent_app.app.conf.broker_transport_options["visibility_timeout"] == visibility
    limits = [agent_app.run_suite.time_limit, agent_app.run_suite.soft_time_limit]
    for name in (protocol.TASK_INGEST, protocol.TASK_REAP, protocol.TASK_SCHEDULE):
        task = central_app.tasks[name]
        assert task.soft_time_limit < task.time_limit
        limits += [task.time_limit, task.soft_time_limit]
    assert all(limit and limit < visibility for limit in limits)
    # acks_late only where redelivery is harmless (idempotent by message id or run/probe)
    assert central_app.tasks[protocol.TASK_INGEST].acks_late
    assert agent_app.run_suite.acks_late
    assert not central_app.tasks[protocol.TASK_SCHEDULE].acks_late


def test_it_lets_a_queued_run_wait_behind_a_live_agent_but_not_a_running_one_stall(run, alpha):
    past = timezone.now() - timedelta(seconds=1)
    Host.objects.filter(pk=alpha.pk).update(last_seen_at=timezone.now())
    ProbeRun.objects.filter(pk=run.pk).update(deadline_at=past)
    assert runs.runs_reap_lost() == 0  # queued behind another run; heartbeats still come
    ProbeRun.objects.filter(pk=run.pk).update(state="running")
    assert runs.runs_reap_lost() == 1
    assert fresh_state(run) == "lost"


def fresh_state(run: ProbeRun) -> str:
    return ProbeRun.objects.values_list("state", flat=True).get(pk=run.pk)


def test_it_stores_evidence_with_nul_characters_and_drops_oversized_evidence(run, alpha):
    first, second = run.probe_ids
    body = result_body(run, first)
    body["result"]["evidence"] = {"cmdline": "probe\x00restored\x00", "k\x00": ["a\x00"]}
    body["result"]["detail"] = "read a\x00b"
    assert ingest.envelope_ingest(envelope(alpha, "result", body)) == "stored"
    stored = ProbeResult.objects.get(probe_id=first)
    assert stored.evidence == {"cmdline": "probe\\0restored\\0", "k\\0": ["a\\0"]}
    assert stored.detail == "read a\\0b"
    big = result_body(run, second)
    big["result"]["evidence"] = {"blob": "x" * 70_000}
    assert ingest.envelope_ingest(envelope(alpha, "result", big)) == "stored"
    assert "truncated" in ProbeResult.objects.get(probe_id=second).evidence
