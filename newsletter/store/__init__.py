"""The only code that speaks SQL. See ``schema.py`` for the tables."""
