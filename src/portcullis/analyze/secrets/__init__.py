"""The secret scanner: rules as data, a keyword prefilter, streamed file search."""
