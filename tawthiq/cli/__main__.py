"""`python -m tawthiq.cli` (the tests run the CLI this way, as a subprocess)."""

from tawthiq.cli import run

run()
