"""The bundled Sensu check scripts, one module per check type (see registry.py).

Kept empty on purpose: a check imports only what it uses.
"""
