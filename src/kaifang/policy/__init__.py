"""Jurisdiction profiles: what differs between cities (deadlines, steps, access, fees) as data."""
