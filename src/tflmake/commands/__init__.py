"""argv -> action: one module per tflmake command."""
