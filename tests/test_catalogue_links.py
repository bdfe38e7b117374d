"""The engine's catalogue points at the seed's roadmap: every area and item it names exists."""

from __future__ import annotations

from probes.engine import catalogue
from roadmap.seed import ROADMAP_2007


def seed_slugs() -> tuple[list[str], set[str]]:
    items: set[str] = set()

    def walk(item) -> None:  # noqa: ANN001 - a SeedItem
        items.add(item.slug)
        for child in item.children:
            walk(child)

    for area in ROADMAP_2007:
        for item in area.items:
            walk(item)
    return [area.slug for area in ROADMAP_2007], items


def test_it_names_the_seeds_areas_in_the_seeds_order():
    areas, _ = seed_slugs()
    assert list(catalogue.AREAS) == areas


def test_it_links_every_probe_to_a_seed_item_or_area_of_the_right_area():
    areas, items = seed_slugs()
    by_item = {item.slug: area.slug for area in ROADMAP_2007 for item in _flat(area.items)}
    for probe in catalogue.load().values():
        assert probe.item in items or probe.item in areas, probe.id
        assert probe.area == by_item.get(probe.item, probe.item), probe.id


def test_it_covers_every_kernel_item_of_the_roadmap_with_probes():
    covered = {p.item for p in catalogue.load().values()}
    _, items = seed_slugs()
    assert items - covered == set()


def _flat(items):  # noqa: ANN001,ANN202
    for item in items:
        yield item
        yield from _flat(item.children)
