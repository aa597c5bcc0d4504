"""`make bench`: measurements, printed as a table, ratios against a native baseline in the same run."""
