"""The report.json model: metrics, gates, diffs and the summary view. Pure."""
