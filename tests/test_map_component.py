"""Rendered maps kept between reruns and sessions (dashboard.map_component.MapCache): a map is
rendered once, a map rendered ahead is not rendered again, a failed attempt is not kept."""

from __future__ import annotations

import threading

import folium
import pytest

from dashboard.map_component import MapCache, render


def rendered(label: str):
    """A small real map, rendered (the cache keeps what map_component.render returns)."""
    fmap = folium.Map(location=[25.0, 102.7], zoom_start=12, tiles=None, max_zoom=18)
    folium.CircleMarker([25.0, 102.7], tooltip=label).add_to(fmap)
    return render(fmap)


class Maker:
    """Counts how often a map is made; ``gate`` holds the making until the test opens it."""

    def __init__(self, label: str, gate: threading.Event | None = None, fail: bool = False):
        self.label, self.gate, self.fail, self.calls = label, gate, fail, 0
        self.started = threading.Event()

    def __call__(self):
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(30)
        if self.fail:
            raise RuntimeError("the map could not be drawn")
        return rendered(self.label)


def test_a_map_is_rendered_once_and_then_kept():
    cache, make = MapCache(), Maker("甲")
    first = cache.get("a", make)
    assert cache.get("a", make) is first
    assert make.calls == 1
    assert "甲" in first.script


def test_the_same_map_rendered_twice_has_the_same_digest_and_another_map_does_not():
    assert rendered("甲").digest == rendered("甲").digest  # folium's random ids aside
    assert rendered("甲").digest != rendered("乙").digest


def test_a_map_rendered_ahead_is_waited_for_not_rendered_again():
    cache, gate = MapCache(), threading.Event()
    ahead = Maker("甲", gate)
    cache.prepare("a", ahead)
    assert ahead.started.wait(30)
    again = Maker("甲")
    result = {}
    asking = threading.Thread(target=lambda: result.setdefault("map", cache.get("a", again)))
    asking.start()
    gate.set()  # the background render finishes while the page waits for it
    asking.join(30)
    assert result["map"] is cache.get("a", again)
    assert (ahead.calls, again.calls) == (1, 0)


def test_a_failed_render_ahead_is_not_kept_and_the_page_renders_it_itself():
    cache, gate = MapCache(), threading.Event()
    failing = Maker("甲", gate, fail=True)
    cache.prepare("a", failing)
    assert failing.started.wait(30)
    page, result = Maker("甲"), {}
    asking = threading.Thread(target=lambda: result.setdefault("map", cache.get("a", page)))
    asking.start()
    gate.set()  # the background render fails while the page waits for it
    asking.join(30)
    assert "甲" in result["map"].script
    assert (failing.calls, page.calls) == (1, 1)


def test_an_error_reaches_the_page_that_renders_and_nothing_is_kept():
    cache = MapCache()
    with pytest.raises(RuntimeError):
        cache.get("a", Maker("甲", fail=True))
    assert "a" not in cache
    assert "甲" in cache.get("a", Maker("甲")).script


def test_the_least_recently_used_maps_are_dropped_beyond_the_capacity():
    cache = MapCache(capacity=2)
    cache.get("a", Maker("甲"))
    cache.get("b", Maker("乙"))
    cache.get("a", Maker("甲"))  # used again: b is now the oldest
    cache.get("c", Maker("丙"))
    assert "a" in cache and "c" in cache and "b" not in cache
