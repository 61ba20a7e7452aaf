"""Meta-in: the webhook (views.py) checks the signature on the raw bytes (signature.py), bounds and
parses the body (gate.py, bounds.py, payload.py), makes domain messages of it (normalize.py,
customers.py) and hands them to workers through streams; pressure.py refuses new webhooks while the loop
is behind. sandbox.py and sandbox_media.py are the embedded mode's simulator and outbox."""
