"""``python -m seqtrack`` (and ``torchrun -m seqtrack``) run the ``seqtrack`` command."""

import sys

from seqtrack.cli import main

sys.exit(main())
