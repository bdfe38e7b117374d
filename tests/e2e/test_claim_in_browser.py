"""A stakeholder signs in, claims an item with the plain form, and sees the claim around."""

from __future__ import annotations

import re

from roadmap.models import Claim, ClaimRole, RoadmapItem, Stakeholder

from .conftest import expect, screenshot, sign_in


def test_an_ibm_member_claims_an_item_and_sees_it_on_the_roadmap(site, page, ibm_member):
    ibm = Stakeholder.objects.get(slug="ibm")
    item = (
        RoadmapItem.objects.exclude(claims__stakeholder=ibm, claims__released_at__isnull=True)
        .order_by("area__position", "position")
        .first()
    )
    role_label = ClaimRole.choices[0][1]

    sign_in(page, ibm_member.username)
    page.goto(f"/items/{item.slug}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(item.title)
    page.get_by_label("For").select_option("ibm")
    page.get_by_label("Role").select_option(ClaimRole.choices[0][0])
    page.get_by_label("Note").fill("claimed from the browser")
    page.get_by_role("button", name="Claim", exact=True).click()

    # Back on the item page (post/redirect/get), with the claim in "Who works on it".
    expect(page).to_have_url(re.compile(rf"/items/{item.slug}/$"))
    row = page.locator("table tr", has=page.get_by_role("link", name=ibm.name))
    expect(row).to_contain_text(role_label)
    expect(row).to_contain_text("claimed from the browser")
    screenshot(page, "item")
    assert Claim.objects.filter(item=item, stakeholder=ibm, released_at__isnull=True).exists()

    page.goto("/")
    expect(page.locator(f"#item-{item.slug} ul.claims")).to_contain_text(
        f"{ibm.name}: {role_label}"
    )
    screenshot(page, "roadmap")
    # On a phone the roadmap reads without sideways scrolling.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "roadmap-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto("/stakeholders/ibm/")
    claim_row = page.locator("table tr", has=page.get_by_role("link", name=item.title))
    expect(claim_row).to_contain_text(role_label)
    expect(page.get_by_role("listitem").filter(has_text=ibm_member.username)).to_be_visible()
    screenshot(page, "stakeholder")
