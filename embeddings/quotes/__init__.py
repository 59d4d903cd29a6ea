"""Quotes: which spans of a post reproduce text first written in an earlier post.

``detector`` finds them at build time, ``text`` normalises words for it, ``trace`` answers "who wrote this
first?" at query time, ``evaluate`` scores detection against truth files.
"""
