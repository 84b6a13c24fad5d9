import sys

from shared.local.platform import main

sys.exit(main())
