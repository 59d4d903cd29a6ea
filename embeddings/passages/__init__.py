"""Passages: posts cut into model-sized slices on sentence boundaries, with exact offsets into the post."""
