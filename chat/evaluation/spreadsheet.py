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


def dict_writer(fh, fieldnames: list[str]) -> csv.DictWriter:
    """A DictWriter whose rows are neutralised cell by cell."""
    writer = csv.DictWriter(fh, fieldnames=fieldnames, extrasaction="ignore")
    write = writer.writerow
    writer.writerow = lambda row: write({k: cell(v) for k, v in row.items()})
    return writer


def writer(fh):
    """A csv.writer whose rows are neutralised cell by cell."""
    out = csv.writer(fh)
    write = out.writerow
    out.writerow = lambda row: write([cell(v) for v in row])
    return out
