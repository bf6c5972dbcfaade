"""Bringing spreadsheets in: read, find the table, map columns, validate, normalise, commit.

Stages (each a module): ``sniff`` (what the file really is), ``xlsx`` / ``csvfile`` /
``calamine`` (streaming readers), ``layout`` (header rows, column mapping, total and note
rows), ``normalize`` (values through the one-place parsers), ``pipeline`` (one transaction,
dry run, supersede, idempotency) and ``results`` (one ImportResult, rendered as JSON and text).
"""
