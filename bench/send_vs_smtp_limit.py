"""The send benchmark's earlier name: runs ``bench/send_bench.py`` with the same options."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.send_bench import main

if __name__ == "__main__":
    main()
