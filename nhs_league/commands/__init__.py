"""One module per ``nhs-league`` command; shared argument handling lives in ``common``."""
