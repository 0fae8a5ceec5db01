"""``python -m edgekit`` (and ``torchrun -m edgekit train …``)."""

import sys

from edgekit.cli.main import main

if __name__ == "__main__":  # not when a spawned worker process (build --jobs) imports it
    sys.exit(main())
