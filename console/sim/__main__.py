"""`python -m console.sim serve …`: the simulated cluster in the foreground."""

import sys

from .process import main

sys.exit(main())
