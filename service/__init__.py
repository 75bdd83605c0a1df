"""headline-dedup: news headlines in, stories out."""

__version__ = "0.1.0"
