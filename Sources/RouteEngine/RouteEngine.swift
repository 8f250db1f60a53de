// RouteEngine: see docs/ARCHITECTURE.md
