"""The config file: loading it into typed settings and rules, and editing it in place."""
