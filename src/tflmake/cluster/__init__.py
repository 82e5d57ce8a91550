"""Cluster builds: Dask (or Ray) workers fill the shared cache, the driver's normal build restores from it.

The driver (`driver`) plans one job per model with stale cacheable tasks
(`plan`), uploads the files its spec names to the cache's blob store and submits
the jobs through a small adapter over an existing engine (`executor`). A job
(`job`) runs on a worker with no checkout: it fetches the spec and its files
into a temporary project and builds that model's cacheable tasks in a
`python -m tflmake` child process, which publishes to the cache. Nothing here
imports TensorFlow, Dask or Ray at import time.
"""
