"""``python -m edgekit`` (and ``torchrun -m edgekit train …``)."""

import sys

from edgekit.cli import main

sys.exit(main())
