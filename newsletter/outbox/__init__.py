"""Sending an edition: the send loop (``send``), one claimed batch (``sendbatch``), helper
sender processes (``forked``) and operator alerts (``alerts``).

The send loop knows nothing of SQL: it talks to the ledger through a small data-source
protocol (``ledger_port.SendSource``, as listmonk's manager depends on an interface) that
``newsletter.store.send_source`` implements; import-linter forbids ``outbox -> store``. Transports, DKIM, pacing and SMTP reply
classification live one layer below, in ``newsletter.deliver``.
"""
