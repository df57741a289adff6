"""The merchant-facing HTTP API: auth, keys, quotas, cache, masking, routes.

It composes the domain packages and is imported by none of them.
"""
