"""nhs_league: NHS Oversight Framework league tables, re-computed, with their uncertainty."""

__version__ = "0.1.0"
