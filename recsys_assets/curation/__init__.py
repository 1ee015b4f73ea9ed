"""What a person would pick from a recommender's candidates: variant families, campaign rules, diversity."""
