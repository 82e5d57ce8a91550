"""`python -m tflmake`: the same as the `tflmake` command."""

import sys

from tflmake.commands.main import main

sys.exit(main())
