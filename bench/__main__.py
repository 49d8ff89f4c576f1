"""``python -m bench``: the benchmark (run it through scripts/bench, which sets up the peers)."""

import sys

from bench.cli import main

sys.exit(main())
