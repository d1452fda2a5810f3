"""Sending an edition: the send loop (``send``), one claimed batch (``sendbatch``), helper
sender processes (``forked``) and operator alerts (``alerts``).

The send loop knows nothing of SQL: it talks to the ledger through ``newsletter.store``'s
functions today and through a small data-source protocol where one exists (listmonk's
manager depends on such an interface). Transports, DKIM, pacing and SMTP reply
classification live one layer below, in ``newsletter.deliver``.
"""
