"""Facts about .tflite files and TensorFlow Lite Micro, without TensorFlow."""
