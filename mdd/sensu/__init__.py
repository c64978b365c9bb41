"""Sensu output formats and their rules: what `mdd generate` writes.

``classic``: Sensu Classic (1.x) check definitions for /etc/sensu/conf.d;
``classic_rules``: Sensu Classic 1.9's own validator, ported, to hold the output to it.
"""
