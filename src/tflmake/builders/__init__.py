"""One module per artifact kind, each exposing `build(spec, layout[, variant])`.

TensorFlow and Keras are imported inside these modules only, so loading the
task graph never pays for them.
"""
