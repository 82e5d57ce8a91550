"""The TensorFlow, Keras and LiteRT code the builders call (heavy imports inside functions)."""
