"""The resource catalog: every data resource of every provider; the open list and the sharing
catalog are views of it by attribute (GY 11, CQ 11, LYG 11)."""
