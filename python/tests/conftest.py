import sys
from pathlib import Path

# The driver next to the tests.
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = ["pytester"]
