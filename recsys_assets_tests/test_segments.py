import pandas as pd

from recsys_assets.segmentation import assign_segments, segment_slug


def test_segment_names_are_slugs_of_the_category():
    names = pd.Series(["Home&Kitchen", "Computers&Accessories", "HomeImprovement", "Toys&Games", None])
    assert segment_slug(names).tolist() == [
        "home-kitchen",
        "computers-accessories",
        "home-improvement",
        "toys-games",
        "",
    ]


def test_customers_with_little_history_are_in_the_general_segment():
    users = pd.DataFrame(
        {
            "user_id": ["U3", "U1", "U2"],
            "review_count": [5, 1, 2],
            "favourite_category": ["Electronics", "Electronics", ""],
        }
    )
    assert assign_segments(users, min_reviews=2).values.tolist() == [
        ["U1", "general"],
        ["U2", "general"],
        ["U3", "electronics"],
    ]
    assert assign_segments(users, min_reviews=1)["segment"].tolist() == ["electronics", "general", "electronics"]
