"""The public directory of benefits."""
