"""CSV that a spreadsheet opens as data: no cell runs as a formula (OWASP's CSV injection advice)."""
from __future__ import annotations

import csv

# a spreadsheet reads a cell starting with one of these as a formula (tab and CR hide one after whitespace)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A text value that would start a formula, with a ' in front so it is shown as written; numbers as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class dict_writer(csv.DictWriter):  # noqa: N801 (used as csv.DictWriter is)
    """A DictWriter whose rows are neutralised cell by cell."""

    def __init__(self, fh, fieldnames: list[str]):
        super().__init__(fh, fieldnames=fieldnames, extrasaction="ignore")

    def writerow(self, row: dict):
        return super().writerow({k: cell(v) for k, v in row.items()})


class writer:  # noqa: N801 (used as csv.writer is)
    """A csv.writer whose rows are neutralised cell by cell."""

    def __init__(self, fh):
        self._out = csv.writer(fh)

    def writerow(self, row):
        return self._out.writerow([cell(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)
