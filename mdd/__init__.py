"""mdd: Monitoring Driven Deployment.

Imports nothing: every bundled check imports this package on every run on every agent.
"""

__version__ = "0.1.0"

# The agent artifact's launchers (`mdd asset build`) set this to the asset's name, so that a
# check missing a library says to rebuild the artifact rather than to install a package.
ARTIFACT: str | None = None
