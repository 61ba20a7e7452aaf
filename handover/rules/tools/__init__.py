"""The rules' offline tools, run by ops at the CLI (`handover rules ...`) and by the desk's "why" view,
never on a customer's turn: evaluation (a labelled corpus: `rules eval`), golden (scripted conversations:
`rules test`), explain (which rule wins and why: `rules explain`), whatif (stored conversations replayed
through a candidate file), export (stored conversations as a golden file), stored (reading them back),
replay (one turn taken as the worker takes it, in memory)."""
