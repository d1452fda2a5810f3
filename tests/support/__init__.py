"""What tests share; a test imports helpers from here, never from a conftest or another
test module.

- ``smtp``: the SMTP sink (aiosmtpd on 127.0.0.1; raw envelopes and parsed messages);
- ``faultsmtp``: the scripted SMTP server that misbehaves on purpose;
- ``http``: the HTTP stub (scripted replies, routes, outages, a log of requests);
  ``fake_hf`` and ``fake_arxiv`` are routes on it that behave like the real upstreams,
  and ``upstreams`` holds their fixtures;
- ``clock``: the fake clock (``now``, monotonic time, recorded sleeps);
- ``ports``: free ports and a throwaway TLS certificate;
- ``needs``: ``need`` (skip locally, fail in CI) and the real fixtures' folder;
- ``databases``: a fresh PostgreSQL schema;
- ``delivery``: an edition of N readers queued in the ledger, small messages, settings;
- ``forms``: reading the web app's forms.
"""
