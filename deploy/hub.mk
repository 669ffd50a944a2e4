# The class server (JupyterHub, the exchange, the grading service): `make hub`, `make hub-test`, `make runtime`.
