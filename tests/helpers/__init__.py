"""The tests' shared helpers, one module each: the CLI runners (cli), the terminal harness
(terminal), the receivers (receivers), the config builder (configs), Quay's sample data
(quay_samples) and the policy for missing system tools (tools)."""
