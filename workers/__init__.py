"""What `handover worker` runs besides the domain: dispatcher.py (drains the partitions' streams with
threads), assigner.py (push queues' assignment loop), jobs.py (the periodic jobs, run through rq),
hooks.py (events out: desk events become signed deliveries to other systems, posted from a loop of its own).
runtime.py is a worker's services, made once. Sends to Meta go through graph/ (the Graph API client),
which the web process uses too."""
