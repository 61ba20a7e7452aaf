"""The desk: the API agents and supervisors work through under /api/v1 (api.py; bot.py and ops.py for
supervisors; http.py for tokens, bodies and errors; models.py and openapi.py for its contract), their live
events (live.py, the route in events.py) and the web console that calls only that API (console.py). scope.py
keeps a person of some business numbers to those numbers on every route; numbers.py lists them; hooks.py is
events out for admins. Served by `handover serve`."""
