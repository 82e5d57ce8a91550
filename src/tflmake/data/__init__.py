"""Data set loaders beyond the built-in ones: image and audio folders, CSV windows, a Python entry.

`files` is pure and fast (the task graph asks it which files a data set reads);
the loader modules import their heavy libraries inside the functions that load.
"""
