"""`train_recommender`."""
