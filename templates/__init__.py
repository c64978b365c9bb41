"""Output templates (installed as ``mdd.templates``); loaded with ``PackageLoader``."""
