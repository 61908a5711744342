"""`jinguo`: run the system, rebuild projections, and look at the log (one module per command
group; `app` puts them together)."""
