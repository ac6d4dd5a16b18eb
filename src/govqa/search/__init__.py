"""Query-time retrieval: a question -> dense, lexical and cross-script candidates from the store -> fused, one Hit per page."""
