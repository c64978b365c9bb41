"""The core every other package stands on: the data model of a manifest (``model``), a
manifest problem with its position (``problems``), a point's command line (``command``) and
atomic file writes (``output``). It imports nothing else of mdd but the checks' public API."""
