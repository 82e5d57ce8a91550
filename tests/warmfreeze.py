"""Last of the forkserver's preloads (tests/warmbuild.py): what the preloads made, out of the collector's sight.

The forked builds' collections (Keras' clear_session runs one per model) then scan only what the
build made, not the ~370,000 objects TensorFlow's import left, and do not touch (copy) the
forkserver's pages: the advice of the `gc.freeze` documentation for a process that forks.
"""

import gc

gc.collect()
gc.freeze()
