"""Who takes what: the waiting lines, how an agent is picked or picks, and agents going away.

queues (waiting lines in Redis: priority, then the longest wait; positions and estimates) · suitability
(which agents suit a conversation, best first: pure scoring) · push (push queues: the assigner offers a
conversation to the best agent the moment either is ready; workers/assigner.py runs it) · claims (the pull
side and what an agent does with what they hold: take the next, claim, reply, resolve, release) · offers
(who is offered what, read from the offer indexes) · liveness (a desk disconnected past its grace takes
the agent offline) · removal (an agent removed in one step).

The state changes themselves go through handover/lifecycle.py and its Lua scripts (lua/assign.lua,
lua/claim.lua): this package decides, lifecycle moves."""
