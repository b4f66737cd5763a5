"""The recommender: interactions, trained ALS models and offer recommendations."""
