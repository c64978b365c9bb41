"""The TLS options of the http check, declared without importing ``ssl``.

``ssl`` costs a plain http:// run about 14 ms of CPU, and the http check's OPTIONS are read
on every run; ``_tls`` (which imports ssl) is imported only when TLS is spoken.
"""

from __future__ import annotations

from mdd.checks._options import PATH, Option

CA_FILE = Option("ca_file", PATH, "PEM file of CA certificates to trust instead of the system's.")
CLIENT_CERT = Option("client_cert", PATH, "PEM client certificate (mutual TLS).")
CLIENT_KEY = Option("client_key", PATH, "PEM private key of client_cert, if not in that file.")
