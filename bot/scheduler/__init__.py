"""The only user of apscheduler: the cron schedule of the IPAM report and the interval of pool alerts."""
