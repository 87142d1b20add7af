"""``python -m seqtrack.bench``: the speed benchmark, same flags as ``seqtrack bench``."""

import sys

from seqtrack.bench.arguments import main

if __name__ == "__main__":
    sys.exit(main())
