"""Input front ends: each data set type's steps from raw sensor data to model features, as a contract, NumPy and C."""
