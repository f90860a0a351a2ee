"""The chains of training runs (tests/track_chain.py) as fixtures of the track record's test modules."""

from __future__ import annotations

from tests import track_chain

# The chains are session fixtures shared with the browser test.
hourly_chain = track_chain.hourly_chain
daily_chain = track_chain.daily_chain
