"""mdd: Monitoring Driven Deployment.

Imports nothing: every bundled check imports this package on every run on every agent.
"""

__version__ = "0.1.0"
