"""One module per source: ``parse(raw) -> list[Paper]`` (pure) and ``fetch(client, ...)`` (I/O)."""
