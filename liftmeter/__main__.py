"""`python -m liftmeter` runs the command line."""

from liftmeter.cli import app

app()
