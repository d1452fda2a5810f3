"""Operator tasks as a library: status, doctor checks, CSV import/export, DNS records,
screenshots. ``newsletter.cli`` parses options, calls these and prints."""
