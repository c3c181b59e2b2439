"""The store: every table of the state database and the queries on them."""
