"""Programs with ceilings and countries, seeded at set-up."""

from __future__ import annotations

from decimal import Decimal

#: code → fields. The President's $50 million initiative (announced September 2003): a
#: multi-agency pool for programs abroad, run through State, Justice, Labor, HHS and USAID,
#: building capacity in eight regional hubs. State estimates $25M obligated in FY2003, about
#: $12.5M in each of the two following years and the remainder in FY2006.
PROGRAMS: dict[str, dict[str, object]] = {
    "PRES-50M": {
        "name": "President's $50 Million Anti-Trafficking Initiative",
        "description": (
            "Multi-agency pool for anti-trafficking programs abroad announced in September 2003, "
            "run through State, Justice, Labor, HHS and USAID, building capacity in eight regional "
            "hubs: Brazil, Cambodia, India, Indonesia, Mexico, Moldova, Sierra Leone and Tanzania."
        ),
        "ceiling": Decimal("50000000.00"),
        "first_fiscal_year": 2003,
        "last_fiscal_year": 2006,
        "hubs": ("BRA", "KHM", "IND", "IDN", "MEX", "MDA", "SLE", "TZA"),
        "aliases": (
            "President's $50M initiative", "$50M initiative", "$50 million initiative",
            "Presidential initiative", "PITI", "50M", "Presidential $50M",
        ),
    },
}
