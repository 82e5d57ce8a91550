"""How tflmake plugs into doit: the one action, up-to-date checkers, state, caches, console."""
