"""Readers: each turns one kind of input into the same :class:`sidtool.model.Directory`."""
