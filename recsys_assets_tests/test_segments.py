import pandas as pd

from recsys_assets.schemas import CustomerSegments
from recsys_assets.segmentation import KEPT_CHARS, MAX_SEGMENT_CHARS, assign_segments, segment_slug


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
            "interaction_count": [5, 1, 2],
            "favourite_category": ["Electronics", "Electronics", ""],
        }
    )
    assert assign_segments(users, min_reviews=2).values.tolist() == [
        ["U1", "general"],
        ["U2", "general"],
        ["U3", "electronics"],
    ]
    assert assign_segments(users, min_reviews=1)["segment"].tolist() == ["electronics", "general", "electronics"]


def test_a_long_category_gets_a_bounded_slug_ending_in_a_digest_and_distinct_slugs_stay_distinct():
    names = pd.Series(["C" * 300 + "|Leaf", "C" * 300 + "D", "c" * KEPT_CHARS, "c" * (KEPT_CHARS + 1), "Toys"])
    slugs = segment_slug(names)
    assert slugs.str.len().tolist() == [MAX_SEGMENT_CHARS] * 2 + [KEPT_CHARS, MAX_SEGMENT_CHARS, 4]
    assert slugs[0].startswith("c" * KEPT_CHARS + "-") and slugs.is_unique
    users = pd.DataFrame({"user_id": ["U1", "U2"], "interaction_count": [3, 3], "favourite_category": names[:2]})
    CustomerSegments.validate(assign_segments(users))
