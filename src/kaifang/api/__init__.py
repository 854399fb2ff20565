"""JSON API (/api/v1) and compatibility surfaces. Routes parse input, call queries/actions, serialise."""
