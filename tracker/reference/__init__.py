"""Reference data seeded at set-up (agencies, offices, countries, implementers, programs)."""
