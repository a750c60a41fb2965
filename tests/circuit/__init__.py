"""Tests of the circuit simulator (plain pytest, no Home Assistant)."""
