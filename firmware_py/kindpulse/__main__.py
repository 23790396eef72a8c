import sys

from kindpulse.cli import main

sys.exit(main())
