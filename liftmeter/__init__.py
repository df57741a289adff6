"""liftmeter: outcome-based pricing for AI generation.

The top-level package is the shared kernel: settings, database, event contracts and the
event log, money, ids, errors and the command line. It holds no domain rules.
"""

__version__ = "0.1.0"
