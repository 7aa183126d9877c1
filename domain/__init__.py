"""The domain: pure rules of the product (request clock, customer view and rules). Imports no
broker, database or web code; the clock is always a parameter."""
