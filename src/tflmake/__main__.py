"""`python -m tflmake`: the same as the `tflmake` command."""

import sys

from tflmake.cli import main

sys.exit(main())
