"""What `handover worker` runs besides the domain: dispatcher.py (drains the partitions' streams with
threads), assigner.py (push queues' assignment loop), jobs.py (the periodic jobs, run through rq), and
the Graph API client for Meta-out: graph.py (sends), transport.py (HTTP, retries), errors.py (Meta's
error codes), media.py (downloads and uploads). runtime.py is a worker's services, made once."""
