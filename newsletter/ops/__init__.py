"""Operations over the library: status, doctor, CSV import/export, DNS records, screenshots.

Called by ``newsletter.cli`` (which keeps options, output and exit codes) and by tests.
"""
