"""Input front ends: every step from raw sensor data to the model input, as a contract, NumPy and C."""
