"""The `threadbot` command line: a thin edge over embeddings.SearchService."""
