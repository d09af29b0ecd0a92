"""Image sources: acquire manifest, config and blobs. Never look inside a layer."""
