"""Crypto price forecasts: a training side that writes an artifact, and a serving side that reads it."""
