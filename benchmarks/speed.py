"""End-to-end CPU speed benchmark of the SeqTrack tracker (same code and flags as ``seqtrack bench``).

    .venv/bin/python benchmarks/speed.py                 # full run: b256, t128, s128, every backend
    .venv/bin/python benchmarks/speed.py --quick         # smoke run, seconds
    .venv/bin/python benchmarks/speed.py --golden tests/golden   # + agreement with official outputs

Writes benchmarks/results/speed.json and benchmarks/results/speed.md (see seqtrack.bench).
"""

import sys

from seqtrack.bench.arguments import main

if __name__ == "__main__":
    sys.exit(main())
