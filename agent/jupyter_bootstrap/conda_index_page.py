"""Anaconda's and Miniconda's index pages: the HTML table that lists each installer with its
sha256, read into file name -> sha256.

Apart from conda_installers so that only a run that really reads an index page pays for
html.parser: the command line imports conda_installers for `init --help`.
"""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from typing import Optional
from urllib.parse import unquote, urlsplit

from jupyter_bootstrap.conda_installers import is_sha256, normalise_sha256


class _TableParser(HTMLParser):
    """Collects every table row as cells of (text, link target, is-header)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[tuple[str, Optional[str], bool]]] = []
        self._row: Optional[list[tuple[str, Optional[str], bool]]] = None
        self._cell: Optional[list[str]] = None
        self._href: Optional[str] = None
        self._header = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        if tag == "tr":
            self._close_row()
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._close_cell()
            self._cell, self._href, self._header = [], None, tag == "th"
        elif tag == "a" and self._cell is not None and self._href is None:
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._close_cell()
        elif tag in ("tr", "table"):
            self._close_row()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def close(self) -> None:
        super().close()
        self._close_row()

    def _close_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            self._row.append(("".join(self._cell).strip(), self._href, self._header))
        self._cell = None

    def _close_row(self) -> None:
        self._close_cell()
        if self._row:
            self.rows.append(self._row)
        self._row = None


def parse_index(html: str) -> dict[str, str]:
    """File name -> sha256 from an index page's table (Anaconda's archive and Miniconda's
    pages: Filename | Size | Last Modified | SHA256). The SHA256 column is found by its
    header; without one, a cell that is 64 hex digits is taken."""
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    hashes: dict[str, str] = {}
    column: Optional[int] = None
    for row in parser.rows:
        titles = [text.lower() for text, _, _ in row]
        if "sha256" in titles:
            column = titles.index("sha256")
            continue
        if any(header for _, _, header in row):
            continue
        name = _row_filename(row)
        cells = [text for text, _, _ in row]
        in_column = column is not None and column < len(cells)
        candidates = [cells[column]] if column is not None and in_column else cells
        value = next((c for c in candidates if is_sha256(c)), None)
        if name and value:
            hashes[name] = normalise_sha256(value)
    return hashes


def _row_filename(row: list[tuple[str, Optional[str], bool]]) -> Optional[str]:
    for _, href, _ in row:
        if href:
            return posixpath.basename(unquote(urlsplit(href).path)) or None
    return row[0][0] if row and row[0][0] else None
