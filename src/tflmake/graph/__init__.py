"""Specs -> doit task dicts. Describes, never builds: it runs on every `doit`, even `doit list`."""
