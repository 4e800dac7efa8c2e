"""Perceptual near-duplicate detection for images and video (issue 9).

Not built yet: the capture core (issue 2) comes first. This package is reserved so the
layout shows where clustering will live; it contains no code that pretends to dedupe.
"""
