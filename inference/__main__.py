"""`python -m inference ...` runs the command line (see inference/cli.py)."""
import sys

from .cli import main

sys.exit(main())
