"""Customer traffic, in the order it flows: what WhatsApp brings in, applied once and in order, and what
goes back out.

enqueue (the edges put messages and statuses on their partition's stream: one Lua call) → streams and
wakeups (a partition drained by one holder of its lease at a time; a wake-up says which has work) →
fenced (a batch's commit, refused if the lease moved) → processing (a batch applied: the bot's turn, the
customer's waiting, their return; what the bot's escalation does is escalation.py) → outbound (sends in
order per conversation, retries) → deliveries (WhatsApp's statuses on what was sent, never backwards).

graph/ (outside the domain) is what actually talks to Meta; workers/ runs the drains."""
