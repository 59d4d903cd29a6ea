"""One index build on disk: the SQLite store, the data directory (atomic swaps, the build lock), the builder."""
