"""Management commands of the recommender."""
