"""Training side: bars in, a fitted model and a materialised forecast out. Never imported by the server."""
