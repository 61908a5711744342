import sys

from jinguo_shared.cli.app import main

sys.exit(main())
