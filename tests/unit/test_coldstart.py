"""shared.coldstart.loading: the collector is paused only for a process's first load, and always back on."""

from __future__ import annotations

import gc

import pytest

from shared import coldstart


@pytest.fixture
def fresh(monkeypatch):
    """A process that has not loaded a table yet; gc.freeze recorded, not done (it would keep this
    test process's objects out of every later collection)."""
    frozen = []
    monkeypatch.setattr(coldstart, "_loaded", False)
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(gc.isenabled()))
    assert gc.isenabled()
    return frozen


def test_the_first_load_runs_without_the_collector_then_freezes_and_turns_it_back_on(fresh):
    with coldstart.loading():
        assert not gc.isenabled()
    assert gc.isenabled()
    assert fresh == [False]  # frozen once, before the collector came back

    with coldstart.loading():  # a later load (the OpenAPI document's tables, a test's) runs as usual
        assert gc.isenabled()
    assert fresh == [False]


def test_a_load_that_fails_still_turns_the_collector_back_on(fresh):
    with pytest.raises(ImportError), coldstart.loading():
        raise ImportError("no module named shared.nothing")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off(fresh):
    gc.disable()
    try:
        with coldstart.loading():
            pass
        assert not gc.isenabled() and fresh == []
    finally:
        gc.enable()
