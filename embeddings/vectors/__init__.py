"""Vectors: the sentence-transformers embedder, the persistent embedding cache, the FAISS vector index."""
