"""IPAM reports' pure core: snapshots of the ipam.usage probe, growth and exhaustion forecasts, and the
ok/warning/critical level of each pool. No I/O; the services layer feeds it and renders its results."""
