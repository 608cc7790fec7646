"""Assertions shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_one_line_error(result, *fragments: str) -> None:
    """Exit status 2, nothing on stdout, and one stderr line 'error: ...' naming the problem."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def assert_png(path: Path) -> None:
    """A readable PNG of a real figure, with no temporary file left beside it."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
