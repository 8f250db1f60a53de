// ForwardQueue: see docs/ARCHITECTURE.md
