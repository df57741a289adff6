"""The merchant-facing HTTP API: auth, keys, quotas, cache, masking, routes; composes the domains."""
