"""``python -m sidtool`` runs the command line."""

import sys

from sidtool.cli import main

sys.exit(main())
