"""The seatledger domain model: pure Python, no I/O, never reads the clock.

Every rule of TERMS.md is enforced in exactly one place here, named by its ID.
"""
