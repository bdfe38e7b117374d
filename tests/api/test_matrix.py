"""The matrix, regressions and kernel-compare endpoints: content against results recorded
through the real ingest path, refusals in the one error format, fixed query counts."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from probes.models import Probe
from tests.probes.factories import observe

from .conftest import client_for

PID, UTS, IPC, KEYS = "ns.pid.isolation", "ns.uts.isolation", "ns.ipc.isolation", "keys.basic"
KERNELS = ["5.4.0", "5.10.0", "6.1.0", "6.18.0"]


@pytest.fixture
def history(catalogue) -> None:
    """PID passes then regresses on newer kernels; UTS splits across hosts on 5.10 (partial);
    IPC is fixed on 6.1; keys.basic regresses on one host of 6.18 (same kernel)."""
    observe("a", "5.4.0", {UTS: "unsupported", IPC: "fail", PID: "pass"})
    observe("a", "5.10.0", {UTS: "pass", IPC: "fail", PID: "pass"})
    observe("b", "5.10.0", {UTS: "fail"})
    observe("a", "6.1.0", {UTS: "pass", IPC: "pass", PID: "fail"})
    observe("a", "6.18.0", {UTS: "pass", PID: "unsupported", KEYS: "pass"})
    observe("a", "6.18.0", {KEYS: "fail"})


def get(url: str, client: APIClient | None = None) -> dict:
    response = (client or APIClient()).get(url)
    assert response.status_code == 200, response.content
    return response.json()


def rows_of(body: dict) -> dict[str, dict]:
    return {row["probe"]: row for row in body["rows"]}


def cell(status: str, split: dict[str, int], regressed: bool = False) -> dict:
    return {"status": status, "split": split, "hosts": sum(split.values()), "regressed": regressed}


def refusal(url: str, code: int = 400) -> dict:
    response = APIClient().get(url)
    assert response.status_code == code, response.content
    return response.json()["error"]


# --- the matrix ------------------------------------------------------------------------------


def test_it_gives_kernels_by_version_and_probes_in_catalogue_order(history):
    body = get("/api/v1/matrix/")
    assert body["kernels"] == [{"release": r, "version": r} for r in KERNELS]
    in_catalogue = list(Probe.objects.filter(in_catalogue=True).values_list("pk", flat=True))
    assert [row["probe"] for row in body["rows"]] == in_catalogue  # unobserved probes too


def test_it_gives_each_cell_over_every_host_with_partial_since_and_regressions(history):
    rows = rows_of(get("/api/v1/matrix/"))
    pid = rows[PID]
    assert pid["title"] == Probe.objects.get(pk=PID).title
    assert (pid["area"], pid["item"]) == ("ongoing-namespaces", "pid-namespace")
    assert pid["since"] == "5.4.0"
    assert pid["regressed_on"] == ["6.1.0", "6.18.0"]  # fails, then is gone, after passing
    assert pid["cells"] == {
        "5.4.0": cell("pass", {"pass": 1}),
        "5.10.0": cell("pass", {"pass": 1}),
        "6.1.0": cell("fail", {"fail": 1}, regressed=True),
        "6.18.0": cell("unsupported", {"unsupported": 1}, regressed=True),
    }
    uts = rows[UTS]
    assert uts["cells"]["5.10.0"] == cell("partial", {"pass": 1, "fail": 1})
    assert (uts["since"], uts["regressed_on"]) == ("5.10.0", [])
    assert rows[IPC]["since"] == "6.1.0"
    assert "6.18.0" not in rows[IPC]["cells"]  # never ran there: no cell
    keys = rows[KEYS]  # passed on this host and kernel before, fails now
    assert keys["cells"] == {"6.18.0": cell("fail", {"fail": 1}, regressed=True)}
    assert (keys["since"], keys["regressed_on"]) == (None, ["6.18.0"])


def test_it_gives_an_empty_matrix_before_any_result(catalogue):
    body = get("/api/v1/matrix/")
    assert body["kernels"] == []
    assert body["rows"] and all(row["cells"] == {} for row in body["rows"])


def test_it_filters_by_area_item_and_status(history):
    area = Probe.objects.get(pk=UTS).area.slug
    by_area = get(f"/api/v1/matrix/?area={area}")["rows"]
    assert UTS in rows_of({"rows": by_area}) and all(r["area"] == area for r in by_area)
    by_item = get("/api/v1/matrix/?item=pid-namespace")["rows"]
    assert PID in rows_of({"rows": by_item}) and all(r["item"] == "pid-namespace" for r in by_item)
    assert [r["probe"] for r in get("/api/v1/matrix/?status=partial")["rows"]] == [UTS]
    assert [r["probe"] for r in get("/api/v1/matrix/?status=unsupported")["rows"]] == [PID, UTS]


def test_it_counts_only_one_hosts_results_when_asked(history):
    rows = rows_of(get("/api/v1/matrix/?host=b"))
    assert rows[UTS]["cells"] == {"5.10.0": cell("fail", {"fail": 1})}
    assert rows[PID]["cells"] == {}


def test_it_bounds_the_kernels_by_version_and_reads_since_within_them(history):
    body = get("/api/v1/matrix/?kernel_min=5.10&kernel_max=6.1.0")
    assert [k["release"] for k in body["kernels"]] == ["5.10.0", "6.1.0"]
    pid = rows_of(body)[PID]
    assert (pid["since"], pid["regressed_on"]) == ("5.10.0", ["6.1.0"])
    assert set(pid["cells"]) == {"5.10.0", "6.1.0"}


# --- regressions -----------------------------------------------------------------------------


def regression(probe: str, kernel: str, status: str, last_passed: str | None) -> dict:
    found = Probe.objects.select_related("area", "item").get(pk=probe)
    return {
        "probe": probe,
        "title": found.title,
        "area": found.area.slug,
        "item": found.item.slug if found.item else None,
        "kernel": kernel,
        "status": status,
        "split": {status: 1},
        "hosts": 1,
        "last_passed": last_passed,
    }


def test_it_lists_every_regressed_cell_with_the_last_kernel_that_passed(history):
    assert get("/api/v1/regressions/")["regressions"] == [
        regression(PID, "6.1.0", "fail", "5.10.0"),
        regression(PID, "6.18.0", "unsupported", "5.10.0"),
        regression(KEYS, "6.18.0", "fail", None),  # regressed on this kernel only
    ]


def test_it_filters_regressions_like_the_matrix(history):
    def listed(query: str) -> list[tuple[str, str]]:
        found = get(f"/api/v1/regressions/?{query}")["regressions"]
        return [(r["probe"], r["kernel"]) for r in found]

    assert listed("status=unsupported") == [(PID, "6.18.0")]
    assert listed("item=pid-namespace") == [(PID, "6.1.0"), (PID, "6.18.0")]
    assert listed("kernel_min=6.18") == [(KEYS, "6.18.0")]  # nothing older passed in range
    assert listed("kernel_max=6.1.0") == [(PID, "6.1.0")]
    assert listed("host=b") == []


# --- comparing two kernels -------------------------------------------------------------------


def compared(old: str, new: str) -> dict:
    body = get(f"/api/v1/kernels/compare/?old={old}&new={new}")
    ids = {k: [p["id"] for p in body[k]] for k in ("regressed", "fixed", "new_probes")}
    ids["still_failing"] = [p["id"] for p in body["still_failing"]]
    ids["kernels"] = [body["old"]["release"], body["new"]["release"]]
    return ids


def test_it_compares_two_kernels(history):
    assert compared("5.10.0", "6.1.0") == {
        "regressed": [PID],
        "fixed": [UTS, IPC],  # partial on 5.10 is not passing there
        "new_probes": [],
        "still_failing": [],
        "kernels": ["5.10.0", "6.1.0"],
    }
    assert compared("5.4.0", "5.10.0")["still_failing"] == [IPC]
    assert compared("6.1.0", "6.18.0")["new_probes"] == [KEYS]
    body = get("/api/v1/kernels/compare/?old=5.10.0&new=6.1.0")
    assert body["regressed"] == [{"id": PID, "title": Probe.objects.get(pk=PID).title}]


def test_it_answers_404_for_an_unknown_kernel_and_400_for_a_missing_one(history):
    error = refusal("/api/v1/kernels/compare/?old=5.10.0&new=9.9.9", 404)
    assert error["code"] == "not_found" and "9.9.9" in error["message"]
    assert refusal("/api/v1/kernels/compare/?old=nope&new=6.1.0", 404)["code"] == "not_found"
    missing = refusal("/api/v1/kernels/compare/?old=5.10.0")
    assert missing["code"] == "invalid" and set(missing["fields"]) == {"new"}
    assert set(refusal("/api/v1/kernels/compare/")["fields"]) == {"old", "new"}


def test_it_keeps_the_kernel_detail_route_beside_compare(history):
    assert get("/api/v1/kernels/6.1.0/")["release"] == "6.1.0"


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["matrix", "regressions"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=broken", "status"),
        ("area=no-such-area", "area"),
        ("area=not%20a%20slug", "area"),
        ("item=no-such-item", "item"),
        ("host=nobody", "host"),
        ("host=a%00b", "host"),
        ("kernel_min=latest", "kernel_min"),
        ("kernel_max=" + "6." * 80, "kernel_max"),
        ("kernel_min=6.1&kernel_max=5.4", "kernel_min"),
    ],
)
def test_it_refuses_bad_query_parameters_with_field_errors(history, endpoint, query, field):
    error = refusal(f"/api/v1/{endpoint}/?{query}")
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]


def test_it_follows_the_anonymous_read_setting(history, settings, outsider):
    settings.API_ANONYMOUS_READ = False
    urls = [
        "/api/v1/matrix/",
        "/api/v1/regressions/",
        "/api/v1/kernels/compare/?old=5.4.0&new=6.1.0",
    ]
    for url in urls:
        assert refusal(url, 401)["code"] == "not_authenticated"
        assert client_for(outsider).get(url).status_code == 200


# --- query counts ----------------------------------------------------------------------------


def world(kernels: int) -> None:
    """``kernels`` kernels over three hosts, every probe of a few areas seen on each."""
    probes = list(Probe.objects.values_list("pk", flat=True)[:12])
    for n in range(kernels):
        statuses = {p: ("pass", "fail", "unsupported")[(n + i) % 3] for i, p in enumerate(probes)}
        observe(f"h{n % 3}", f"6.{n}.0", statuses)


QUERIES = [
    ("/api/v1/matrix/", 3),
    ("/api/v1/matrix/?status=pass&kernel_min=6.0&kernel_max=6.99", 3),
    ("/api/v1/matrix/?area=ongoing-namespaces&item=pid-namespace&host=h1", 6),  # +1 per name
    ("/api/v1/regressions/", 3),
    ("/api/v1/regressions/?status=fail&host=h0", 4),
    ("/api/v1/kernels/compare/?old=6.0.0&new=6.1.0", 4),
]


@pytest.mark.parametrize(("url", "queries"), QUERIES)
def test_it_answers_in_a_fixed_number_of_queries_whatever_the_size(
    catalogue, django_assert_num_queries, url, queries
):
    world(2)
    with django_assert_num_queries(queries):
        small = APIClient().get(url)
    world(9)  # kernels 6.0 .. 6.8, more cells and regressions
    with django_assert_num_queries(queries):
        large = APIClient().get(url)
    assert small.status_code == large.status_code == 200, large.content
    if "rows" in large.json():
        cells = sum(len(row["cells"]) for row in large.json()["rows"])
        assert cells > sum(len(row["cells"]) for row in small.json()["rows"])
