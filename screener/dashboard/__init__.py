"""The practitioners' side: login, the submissions dashboard, exports and clinic administration."""
