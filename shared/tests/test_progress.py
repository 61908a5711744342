"""Progress off a terminal (a Kubernetes Job's log): one plain line per tenth, per label."""

from __future__ import annotations

import pytest

from jinguo_shared.cli.progress import progress_bars


def test_off_a_terminal_each_tenth_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bars("events") as report:
        for done in range(0, 1001):
            report("REGISTRY", done, 1000)
        for done in (1, 1, 2, 3):
            report("employment", done, 3)

    lines = capsys.readouterr().err.splitlines()

    registry = [line for line in lines if line.startswith("REGISTRY: ")]
    assert [line.split()[1] for line in registry] == [f"{10 * n}%" for n in range(1, 11)]
    assert registry[-1].startswith("REGISTRY: 100% (1,000/1,000 events, ")
    employment = [line.split()[1] for line in lines if line.startswith("employment: ")]
    assert employment == ["30%", "60%", "100%"]
    assert len(lines) == len(registry) + len(employment)


def test_work_with_nothing_to_do_says_it_is_done(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bars("events") as report:
        report("RIGHTS", 0, 0)

    assert capsys.readouterr().err.splitlines() == ["RIGHTS: 100% (0/0 events, 0/s)"]
