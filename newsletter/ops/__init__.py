"""Operator tasks as a library: status, doctor checks, CSV import/export, DNS records,
screenshots, edition readiness. ``newsletter.cli`` parses options, calls these and prints."""
