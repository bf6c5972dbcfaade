"""Plotly figures built from reporting rows. Pages embed each figure's JSON in a
<script type="application/json"> block and one static script of ours draws it (no inline
script, so a strict Content-Security-Policy holds); plotly.js and the world map are served
from the app itself (no CDN)."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from tracker.fiscal import fiscal_year_label

#: One colour per agency, stable across charts (colour-blind-safe ordering).
AGENCY_COLOURS = {"DOS": "#1a4480", "USAID": "#e66f0e", "DOL": "#538200", "DOJ": "#8b0a03", "HHS": "#6b4ce6",
                  "DHS": "#00bde3", "DOD": "#565c65", "ED": "#c2850c"}
_LAYOUT = {"font": {"family": "Source Sans Pro Web, Helvetica Neue, Arial, sans-serif", "size": 14},
           "margin": {"l": 60, "r": 20, "t": 40, "b": 50}, "paper_bgcolor": "#fff", "plot_bgcolor": "#fff"}


def _money(value: Decimal) -> float:
    # Plotly draws numbers; the exact Decimal figures are in the table beside every chart.
    return float(value)


def obligations_by_year_and_agency(rows: list[dict[str, Any]]) -> go.Figure:
    """Stacked bars: obligations by fiscal year, one colour per agency."""
    years = sorted({r["fiscal_year"] for r in rows})
    figure = go.Figure(layout={**_LAYOUT, "barmode": "stack", "title": "Obligations by fiscal year and agency",
                               "yaxis": {"title": "U.S. dollars", "tickformat": "$,.0f"},
                               "xaxis": {"type": "category", "title": "Fiscal year"}})
    by_agency: dict[str, dict[int, Decimal]] = defaultdict(dict)
    for row in rows:
        by_agency[row["agency"]][row["fiscal_year"]] = row["amount"]
    for agency in sorted(by_agency):
        figure.add_bar(name=agency, x=[fiscal_year_label(y) for y in years],
                       y=[_money(by_agency[agency].get(y, Decimal(0))) for y in years],
                       marker_color=AGENCY_COLOURS.get(agency), hovertemplate="%{x} " + agency + ": %{y:$,.0f}<extra></extra>")
    return figure


def world_map(rows: list[dict[str, Any]], names: dict[str, str]) -> go.Figure:
    """A world map of obligations by country (the countries the map can draw)."""
    figure = go.Figure(layout={**_LAYOUT, "title": "Obligations by country",
                               "geo": {"projection": {"type": "natural earth"}, "showframe": False,
                                       "showcoastlines": False, "resolution": 110}})
    figure.add_choropleth(locations=[r["country"] for r in rows], z=[_money(r["amount"]) for r in rows],
                          text=[names.get(r["country"], r["country"]) for r in rows], locationmode="ISO-3",
                          colorscale="Blues", colorbar={"title": "USD", "tickformat": "$,.0f"},
                          hovertemplate="%{text}: %{z:$,.0f}<extra></extra>")
    return figure


def initiative_ledger(rows: list[dict[str, Any]], ceiling: Decimal | None, name: str) -> go.Figure:
    """A program's obligations by hub and year against its ceiling."""
    years = sorted({r["fiscal_year"] for r in rows})
    figure = go.Figure(layout={**_LAYOUT, "barmode": "stack", "title": f"{name}: obligations against the ceiling",
                               "yaxis": {"title": "U.S. dollars", "tickformat": "$,.0f"},
                               "xaxis": {"type": "category", "title": "Fiscal year"}})
    by_hub: dict[str, dict[int, Decimal]] = defaultdict(dict)
    for row in rows:
        by_hub[row["country"] or row["region"]][row["fiscal_year"]] = row["amount"]
    for hub in sorted(by_hub):
        figure.add_bar(name=hub, x=[fiscal_year_label(y) for y in years],
                       y=[_money(by_hub[hub].get(y, Decimal(0))) for y in years])
    if ceiling is not None and years:
        running, cumulative = Decimal(0), []
        for year in years:
            running += sum((by_hub[h].get(year, Decimal(0)) for h in by_hub), Decimal(0))
            cumulative.append(_money(running))
        figure.add_scatter(name="Cumulative", x=[fiscal_year_label(y) for y in years], y=cumulative,
                           mode="lines+markers", line={"color": "#1b1b1b"})
        figure.add_hline(y=_money(ceiling), line_dash="dash", line_color="#b50909",
                         annotation_text=f"Ceiling ${ceiling:,.0f}")
    return figure


def flags_by_type(counts: list[dict[str, Any]]) -> go.Figure:
    """Open and decided flags by type."""
    types = sorted({c["type"] for c in counts})
    figure = go.Figure(layout={**_LAYOUT, "barmode": "stack", "title": "Flags by type",
                               "xaxis": {"title": "Flags"}, "yaxis": {"automargin": True}})
    for status, colour in (("open", "#b50909"), ("decided", "#538200")):
        figure.add_bar(name=status, orientation="h", y=[t.replace("_", " ") for t in types], marker_color=colour,
                       x=[sum(c["count"] for c in counts if c["type"] == t and c["status"] == status) for t in types])
    return figure


def coverage(posts: dict[str, list[int]], years: list[int], names: dict[str, str]) -> go.Figure:
    """Which posts reported which fiscal years."""
    countries = sorted(posts, key=lambda c: names.get(c, c))
    figure = go.Figure(layout={**_LAYOUT, "title": "Embassy reporting coverage",
                               "xaxis": {"type": "category", "title": "Fiscal year"},
                               "yaxis": {"automargin": True}, "height": max(300, 24 * len(countries) + 120)})
    figure.add_heatmap(x=[fiscal_year_label(y) for y in years], y=[names.get(c, c) for c in countries],
                       z=[[1 if y in posts[c] else 0 for y in years] for c in countries], showscale=False,
                       colorscale=[[0, "#f0f0f0"], [1, "#2e8540"]], xgap=2, ygap=2,
                       hovertemplate="%{y} %{x}: %{z}<extra></extra>")
    return figure


def as_json(figure: go.Figure) -> str:
    """The figure as JSON safe to put inside a <script type="application/json"> block."""
    text = figure.to_json()
    return text.replace("</", "<\\/")


def loads(text: str) -> dict[str, Any]:
    """Read a figure's JSON back (tests)."""
    return json.loads(text)
