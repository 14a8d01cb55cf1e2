"""Organisations confirm a volunteer's engagement through a secret link."""
