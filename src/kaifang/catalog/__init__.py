"""The resource catalog: every data resource of every provider; the open list and the sharing
catalog are views of it by attribute (GY 11, CQ 11, LYG 11).

Importing the package registers the catalog's workflows (review, change, dispute) on the case
engine and the followers that keep entries in step with their cases.
"""

from kaifang.catalog import changes, disputes, review, workflows

__all__ = ["changes", "disputes", "review", "workflows"]
