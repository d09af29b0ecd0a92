"""Pure data types: no I/O, no imports from other portcullis packages except errors."""
