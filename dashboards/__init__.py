"""liftmeter's web pages: usage and spend, conversion lift, the finance console, the audit log.

Server-rendered (FastAPI routers + Jinja2 templates), charts drawn by the plotly.js bundled
with the installed plotly package. The gateway mounts them under `/dashboard` with
`dashboards.site.install_dashboards`; see docs/dashboards.md.
"""
