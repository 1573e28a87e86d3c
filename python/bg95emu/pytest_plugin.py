"""The pytest plugin (entry point `pytest11`): the `bg95` fixture, one emulator per test
on free ports (so it works under pytest-xdist), options from the `bg95` marker, and the
session's transcript attached to a failed test's report."""

from pathlib import Path

import pytest

from .emulator import Emulator


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "bg95(scenario=None, ftp_tls=False, baud=0, **options): options of the bg95 fixture's "
        "emulator (bg95emu.Emulator's keywords; a relative scenario is the test file's)",
    )


@pytest.fixture
def bg95(request):
    """A running bg95emu.Emulator for this test."""
    marker = request.node.get_closest_marker("bg95")
    options = dict(marker.kwargs) if marker else {}
    scenario = options.get("scenario")
    if scenario and not Path(scenario).is_absolute():
        options["scenario"] = str(Path(request.node.fspath).parent / scenario)
    emu = Emulator(**options)
    emu.start()
    request.node._bg95_emulator = emu
    try:
        yield emu
    finally:
        emu.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    emu = getattr(item, "_bg95_emulator", None)
    if emu is None or not report.failed:
        return
    try:
        text = emu.transcript()
    except Exception as e:  # the emulator may be the thing that failed
        text = f"(no transcript: {e})\n{emu.stderr()}"
    if text:
        report.sections.append(("bg95 transcript", text))
