"""The domain: conversations between customers, the bot and agents, kept in Redis. No HTTP here, no
WhatsApp payloads (webhooks/ makes messages of those, graph/ sends them), no processes (app/).

A map, by concept (each module's docstring says the rest):

Vocabulary every layer uses
    message (what comes in and goes out) · conversation (states, the 24-hour window) · transcript
    (entries both ways) · packet (the context packet agents read first) · agents (who, queues, skills,
    presence) · errors · clock (the one clock) · ids
Storage
    keys (every Redis key, built here only) · store (customers, conversations, transcripts) · unit
    (guarded: a change of what was read, WATCH/MULTI) · traffic/fenced (a transaction under a lease) ·
    lua/ (the atomic scripts; lua/lib shared parts) · upgrades · retention
Customer traffic, in order: traffic/
    enqueue (edges → streams) → streams, wakeups (partitions drained under a lease) → fenced (a commit
    under the lease) → processing (a batch applied: the bot's turn; escalation, what a handover does) →
    outbound (sends, retries) → deliveries (statuses back). bot (the bot's interface; rules/ is the
    rule-based bot) is called from processing.
    Beside it: notices, rekey, coexistence (what WhatsApp says of a customer or the business app),
    gestures (reactions, typing, quotes), media (customers' media for the desk)
Who takes what: assignment/
    queues (waiting lines, positions) · suitability (scoring, pure) · push (push queues pick the agent)
    · claims (the pull side: an agent takes, replies, resolves, releases) · offers · liveness, removal
    (agents going away). Beside it: lifecycle (the one place a state changes; moves describes it) · warm,
    transfers · waiting, abandon, announce, waits (the customer's wait) · clocks, clockwatch (silent
    agents, quiet customers)
What the desk reads
    inbox, activity (lists) · history · search · notes · events (the live stream) · hints
Measures and records
    kpis, kpireport (contact-centre KPIs) · fcr · botstats · audit · masking · guessing · availability
Beyond one number and one system
    numbers (the business numbers: each one's name, colour, rules file) · hooks/ (events out to other
    systems: subscriptions, URL safety, Standard Webhooks signing; workers/hooks.py posts)
rules/
    the bot's rules: loader, model, yamlfile, lint (reading and checking); matching, lexicon, senses,
    scope, language (understanding); bot, turn, wording, waiting, queue (answering); versions and holder
    (which rules run); tools/ (offline, for ops: evaluation, golden, explain, whatif, replay, export,
    stored)

Where to start for a task
    change how agents are picked      assignment/: suitability.py (the score), push.py (push:
                                      workers/assigner.py runs it), claims.py (pull: desk/service.py
                                      take_next); lua/assign.lua and lua/claim.lua (the atomic part),
                                      lifecycle.py
    change what the bot's escalation does   traffic/escalation.py (queue, packet, write), rules/bot.py
                                      (_escalate: whether), lifecycle.py (queued), packet.py (what the
                                      agent reads)
    add a field to the packet         packet.py (ContextPacket, and build_packet that fills it; `handover
                                      packet schema` exports it), traffic/escalation.py (what build_packet
                                      is given), desk/static/console-conversation.js (shows it)
    add a Redis key                   keys.py (the only module that builds keys: import-linter holds it),
                                      then the module that owns the data
    add a desk route                  desk/api.py (ROUTES), a handler module in desk/ (in_thread for a sync
                                      service), desk/models.py (its models), desk/openapi.py documents it;
                                      tests/e2e/test_fuzz_desk_api.py fuzzes it from there
    change what the bot understands   config/rules.yaml first (ops' file); rules/matching.py, lexicon.py,
                                      senses.py, scope.py; measure with `handover rules eval tests/data/nlu`
"""
