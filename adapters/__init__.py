"""Adapters to the outside: the event store, the clock, the payment gateway."""
