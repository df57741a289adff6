"""HTTP routes of the gateway: translate, call the domain services, encode."""
