"""Tests of the No-Neutral Adaptor integration."""
