"""The warm build worker: a per-project background process that keeps TensorFlow, Keras and LiteRT
imported and runs the TensorFlow steps of later builds (`python -m tflmake.worker`, started by
`engine.workerclient`)."""
