"""Search: ranking passages (dense, lexical, hybrid), highlighting sentences, measuring retrieval quality."""
