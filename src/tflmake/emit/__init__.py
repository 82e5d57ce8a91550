"""Pure text generators for firmware files."""
