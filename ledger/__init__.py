"""The Ledger's rooms: the unit of work, reading, and the work behind the commands."""
