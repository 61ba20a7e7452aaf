"""Meta-out: the WhatsApp Cloud (Graph) API client, beside webhooks/ for Meta-in. The worker sends through
it and the web process fetches and uploads media through it, so it belongs to neither.

client.py (one pooled session, one `_request`: text, buttons, lists, templates, receipts, media up and
down) · transport.py (how a worker sends: a loop thread, sends in parallel, retries with backoff, the
sandbox outbox) · errors.py (Meta's error codes read as retry, window closed, or permanent) · media.py
(the desk's media source over the Graph API)."""
