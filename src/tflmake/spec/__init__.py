"""TOML spec files -> validated, frozen spec objects. Pure: no TensorFlow, no writes."""
