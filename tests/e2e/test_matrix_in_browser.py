"""The matrix shows this machine's kernel; a cell opens its detail with the host's result."""

from __future__ import annotations

import os

from probes.models import Probe
from tests.probes.factories import observe

from .conftest import expect, screenshot


def test_the_matrix_cell_of_this_kernel_opens_the_hosts_result(site, page):
    release = os.uname().release
    probe = Probe.objects.order_by("position").first()
    run = observe("e2e-box", release, {probe.id: "pass"})

    page.goto("/matrix/")
    expect(page.get_by_role("columnheader", name=release)).to_be_visible()
    cell = page.locator(f'a[href="/matrix/{probe.id}/{release}/"]')
    expect(cell).to_have_text("pass")
    screenshot(page, "matrix")

    cell.click()
    expect(page).to_have_url(f"{site.url}/matrix/{probe.id}/{release}/")
    expect(page.locator("main, body").first).to_contain_text("e2e-box")
    expect(page.locator("main, body").first).to_contain_text("pass")
    screenshot(page, "cell")

    page.goto("/hosts/")
    expect(page.get_by_role("link", name="e2e-box")).to_be_visible()
    screenshot(page, "hosts")

    page.goto("/hosts/e2e-box/")
    expect(page.get_by_role("link", name=str(run.pk), exact=True)).to_be_visible()
    screenshot(page, "host")

    response = page.goto("/report/")
    if response is not None and response.status == 200:
        screenshot(page, "report")
