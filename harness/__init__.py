"""Test harness shared by tests and benchmarks: running processes of the product, Kafka
helpers, the three-broker fault stack. Not part of the installed package."""
