"""Conditional access (CQ 24-25, LYG 10, 19, 24): applications for conditional data on the case
engine, data-use agreements from a versioned model template, and the grants they lead to.

Importing the package registers the application workflow and its follower on the case engine."""

from kaifang.applications import actions, workflows

__all__ = ["actions", "workflows"]
