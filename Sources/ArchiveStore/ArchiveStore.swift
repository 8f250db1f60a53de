// ArchiveStore: see docs/ARCHITECTURE.md
