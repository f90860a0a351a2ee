"""Serving side: answers from the artifact alone. Imports neither prophet, pandas nor alpaca-py."""
