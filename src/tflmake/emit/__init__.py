"""Pure generators of output files: firmware sources, report text, report images."""
