"""Captions and alt text of the lessons' figures on the site, from ``figures.json``.

A lesson's figure is the image output of a code cell. ``figures.json`` maps a lesson (its stem)
to the figures' descriptions, each keyed by a text that its cell's code contains (the plot's
title): ``{"01_bradley_terry": {"Loss of one pair": {"caption": "...", "alt": "..."}}}``.
Captions are Markdown (``$...$`` maths); alt text is plain. They reach the page as myst-nb's
cell metadata (``mystnb.figure.caption``, ``mystnb.image.alt``); a cell that sets these itself
keeps its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import nbformat

FIGURES_FILE = "figures.json"


@dataclass(frozen=True)
class Figure:
    """What a figure shows: a caption (Markdown) and alt text (plain)."""

    caption: str
    alt: str


def load_figures() -> dict[str, dict[str, Figure]]:
    """Lesson stem -> {text of the figure's code -> :class:`Figure`}, from ``figures.json``."""
    text = resources.files("rmcourse.site").joinpath(FIGURES_FILE).read_text(encoding="utf-8")
    return parse_figures(json.loads(text))


def parse_figures(data: dict[str, dict[str, dict[str, str]]]) -> dict[str, dict[str, Figure]]:
    """The figures of ``figures.json``'s content.

    Raises ``ValueError`` naming the entry when one lacks a caption or alt text.

    Examples
    --------
    >>> parse_figures({"01_x": {"Loss": {"caption": "The loss.", "alt": "A curve."}}})
    {'01_x': {'Loss': Figure(caption='The loss.', alt='A curve.')}}
    """
    figures: dict[str, dict[str, Figure]] = {}
    for lesson, entries in data.items():
        figures[lesson] = {}
        for key, entry in entries.items():
            if set(entry) != {"caption", "alt"} or not all(entry.values()):
                raise ValueError(
                    f"{FIGURES_FILE}: {lesson} / {key!r} needs a non-empty caption and alt, "
                    f"and nothing else; it has {sorted(entry)}"
                )
            figures[lesson][key] = Figure(entry["caption"], entry["alt"])
    return figures


def figure_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The code cells of ``nb`` with an image output, in order."""
    return [
        cell
        for cell in nb.cells
        if cell.cell_type == "code"
        and any(
            mime.startswith("image/")
            for output in cell.get("outputs", [])
            for mime in output.get("data", {})
        )
    ]


def describe_figures(nb: nbformat.NotebookNode, figures: dict[str, Figure]) -> list[str]:
    """Give every figure cell of ``nb`` its caption and alt text from ``figures`` (in place).

    Returns the figure cells' first source lines that no entry (nor their own metadata)
    describes. A cell that two entries match gets neither: the keys must say which is which.
    """
    undescribed = []
    for cell in figure_cells(nb):
        mystnb = cell.metadata.get("mystnb", {})
        if "caption" in mystnb.get("figure", {}) and "alt" in mystnb.get("image", {}):
            continue
        matches = [figure for key, figure in figures.items() if key in cell.source]
        if len(matches) != 1:
            undescribed.append(cell.source.strip().splitlines()[0])
            continue
        mystnb = cell.metadata.setdefault("mystnb", {})
        mystnb.setdefault("figure", {}).setdefault("caption", matches[0].caption)
        mystnb.setdefault("image", {}).setdefault("alt", matches[0].alt)
    return undescribed
