"""The class server: JupyterHub says who is who; the exchange and the grading service act on that alone."""
