"""The task worker: the Job entrypoint of `ai` and `agent` tasks (`python functions/worker/main.py`)."""

import sys
from pathlib import Path

# Run as a script from anywhere: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shared.worker.run import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
