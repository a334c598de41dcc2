"""Entry point for ``python -m catalogbridge.synth``."""

import sys

from catalogbridge.synth.cli import main

sys.exit(main())
