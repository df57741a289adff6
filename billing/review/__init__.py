"""The human review queue: the third stage of the risk model.

Outputs whose risk verdict is `review` (a score in the policy's gray band, a medium rule
hit, or a sensitive category: health, finance, children) wait here for a person. The
gateway enqueues an item in the same transaction that completes the call; a reviewer
approves (the description is released to shoppers and billed as good work) or rejects it
(the description stays withheld and is credited). Every decision writes one audit row in
the same transaction and can never be changed afterwards.
"""
