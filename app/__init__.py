"""The processes and the command line: `handover serve` (web.py builds the aiohttp app; edge.py and
shedding.py are its listener's limits), `handover worker` (worker.py: drainers, the assigner, periodic
jobs), the CLI (cli.py, with agents_cli, rules_cli, rules_check, versions_cli, whatif), and what both
processes are made of: wiring.py (Redis clients, the rules of every number, the worker runtime),
logging.py, metrics.py, errors.py."""
