"""Events out: the business's other systems (a CRM, ticketing, a Slack channel, an external desk) learn what
happens to conversations through signed, retried webhooks (issue 33).

- model.py: what a subscription is and which events there are
- store.py: subscriptions in Redis (audited) and their signing secrets
- safety.py: which URLs may be called at all (https, public addresses, an allow-list), checked when a
  subscription is added and again on every connection (a name may resolve elsewhere later)
- signing.py: the Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature)

Delivery itself (the HTTP calls) is the workers' (workers/hooks.py); the command line is app/hooks_cli.py.
"""
