"""The served picks: one listing per variant family, a campaign's rules, a cap per category and brand, the top-up."""

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance, asset, build_asset_context, materialize

from recsys_assets.curation.picks import catalog_facts, curate, with_reason_events
from recsys_assets.curation.rules import brands
from recsys_assets.curation.variants import name_key, variant_families
from recsys_assets.defs.model.assets import recommendations
from recsys_assets.defs.model.assets import variant_families as variant_families_asset
from recsys_assets.emails.render import email_items
from recsys_assets.formats.tables import EVENT_COLUMNS, empty_table
from recsys_assets.ml.serving import RECOMMENDATION_COLUMNS
from recsys_assets.resources.campaign import CampaignRules
from recsys_assets.resources.interaction_rules import InteractionRulesResource
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.resources.recommender import LocalRecommender, Recommender

NO_CAPS = {"max_per_category": 99, "max_per_brand": 99}


def catalog(*rows: dict) -> pd.DataFrame:
    """Products (rated 4.2, priced 500, leaf Cables, named after the id and branded by the name's first word, as the
    Kaggle reader does) with overrides per row."""
    defaults = {"rating": 4.2, "discounted_price": 500.0, "category_path": "Electronics|Cables", "leaf": "Cables"}
    frame = pd.DataFrame([{**defaults, "product_name": f"{row['product_id']} thing", **row} for row in rows])
    if "brand" not in frame.columns:
        frame["brand"] = brands(frame["product_name"])
    return frame.rename(columns={"leaf": "leaf_category"})


def reviews_of(pairs: dict[str, list[str]]) -> pd.DataFrame:
    """One review per (user, product) of {product: [users]}."""
    return pd.DataFrame([(u, p) for p, users in pairs.items() for u in users], columns=["user_id", "product_id"])


def candidates(user: str, items: list[str], source: str = "item-item") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USER_ID": user,
            "RANK": range(1, len(items) + 1),
            "ITEM_ID": items,
            "SCORE": [1.0 / rank for rank in range(1, len(items) + 1)],
            "SOURCE": source,
            "REASON_ITEM_ID": pd.Series([None] * len(items), dtype="str"),
            "REASON_CATEGORY": pd.Series([None] * len(items), dtype="str"),
        }
    )


def served(
    products: pd.DataFrame,
    picks: pd.DataFrame,
    num_results: int,
    reviews: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    **rules,
) -> list[str]:
    """The curated ITEM_IDs of the first user, in rank order."""
    reviews = reviews if reviews is not None else reviews_of({})
    history = history if history is not None else pd.DataFrame({"USER_ID": [], "ITEM_ID": [], "EVENT_VALUE": []})
    campaign = CampaignRules(**{**NO_CAPS, **rules})
    facts = catalog_facts(products, variant_families(products, reviews), history, campaign)
    table = curate(picks, facts, history, campaign, num_results).table
    assert table["RANK"].tolist() == list(range(1, len(table) + 1))
    return table["ITEM_ID"].tolist()


def families(products: pd.DataFrame, reviews: pd.DataFrame | None = None) -> list[list[str]]:
    table = variant_families(products, reviews if reviews is not None else reviews_of({}))
    return sorted(sorted(group) for group in table.groupby("family_id")["product_id"].agg(list))


def test_listings_whose_names_differ_only_by_colour_size_or_pack_are_one_family():
    products = catalog(
        {"product_id": "a", "product_name": "Nokia 105 Single SIM, Keypad Mobile Phone | Charcoal"},
        {"product_id": "b", "product_name": "Nokia 105 Single SIM, Keypad Mobile Phone | Blue"},
        {"product_id": "c", "product_name": "Redmi 10A (Sea Blue, 4GB RAM, 64GB Storage)"},
        {"product_id": "d", "product_name": "Redmi 10A (Slate Grey, 6GB RAM, 128GB Storage)"},
        {"product_id": "e", "product_name": "Wayona Braided Cable (3 FT Pack of 1, Grey)"},
        {"product_id": "f", "product_name": "Wayona Braided Cable (1.5m, Pack of 2, Black)"},
    )
    assert families(products) == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_listings_that_share_most_of_their_reviewers_are_one_family():
    products = catalog({"product_id": "a"}, {"product_id": "b"}, {"product_id": "c"})
    reviews = reviews_of({"a": ["u1", "u2", "u3"], "b": ["u1", "u2", "u3", "u4"], "c": ["u9"]})
    assert families(products, reviews) == [["a", "b"], ["c"]]


def test_other_models_and_a_single_shared_reviewer_stay_apart():
    products = catalog(
        {"product_id": "a", "product_name": "boAt Bassheads 152 in Ear Wired Earphones (Active Black)"},
        {"product_id": "b", "product_name": "boAt Bassheads 242 in Ear Wired Earphones (Active Black)"},
        {"product_id": "c"},
        {"product_id": "d"},
    )
    reviews = reviews_of({"c": ["u1"], "d": ["u1"]})  # Jaccard 1, but one reviewer is no evidence
    assert families(products, reviews) == [["a"], ["b"], ["c"], ["d"]]
    assert name_key(pd.Series(["Samsung 80 cm (32 inches) TV (Black)"])).tolist() == ["samsung tv"]


def test_one_pick_per_family_and_none_of_a_family_the_customer_reviewed():
    products = catalog(
        {"product_id": "a", "product_name": "Nokia 105 Phone | Blue"},
        {"product_id": "b", "product_name": "Nokia 105 Phone | Red"},
        {"product_id": "c", "product_name": "Acme TV (Black)"},
        {"product_id": "d", "product_name": "Acme TV (White)"},
        {"product_id": "e"},
    )
    history = pd.DataFrame({"USER_ID": ["u"], "ITEM_ID": ["c"], "EVENT_VALUE": [1.0]})
    assert served(products, candidates("u", ["a", "b", "d", "e"]), 3, history=history) == ["a", "e"]


def test_no_more_than_the_cap_from_one_leaf_category_or_one_brand():
    products = catalog(
        *({"product_id": f"c{i}", "leaf": "USBCables"} for i in range(4)),
        {"product_id": "x", "leaf": "Phones"},
        {"product_id": "y", "leaf": "Phones"},
    )
    picks = candidates("u", ["c0", "c1", "c2", "c3", "x", "y"])
    assert served(products, picks, 4, max_per_category=2) == ["c0", "c1", "x", "y"]
    branded = catalog(
        *({"product_id": f"p{i}", "product_name": f"Acme model {i}"} for i in range(3)), {"product_id": "z"}
    )
    assert served(branded, candidates("u", ["p0", "p1", "p2", "z"]), 3, max_per_brand=2) == ["p0", "p1", "z"]


def test_minimum_rating_drops_lower_rated_products_and_keeps_unrated_ones():
    products = catalog(
        {"product_id": "low", "rating": 3.4}, {"product_id": "none", "rating": None}, {"product_id": "ok"}
    )
    picks = candidates("u", ["low", "none", "ok"])
    assert served(products, picks, 3, min_rating=3.5) == ["none", "ok"]
    assert served(products, picks, 3, min_rating=0) == ["low", "none", "ok"]


def test_a_catalog_without_brands_or_categories_is_not_capped_as_one_brand_or_category():
    products = catalog(
        *(
            {"product_id": f"p{i}", "product_name": f"WHITE HANGING HEART {i}", "brand": "", "leaf": "", "rating": None}
            for i in range(4)
        )
    )
    picks = candidates("u", ["p0", "p1", "p2", "p3"])
    assert served(products, picks, 4, max_per_category=1, max_per_brand=1) == ["p0", "p1", "p2", "p3"]


def test_the_top_up_counts_anonymous_purchases_in_an_items_popularity():
    products = catalog(*({"product_id": p} for p in ("liked", "other", "bought_anonymously")))
    history = pd.DataFrame({"USER_ID": ["v"], "ITEM_ID": ["liked"], "EVENT_VALUE": [1.0]})
    campaign = CampaignRules(**NO_CAPS)
    families = variant_families(products, reviews_of({}))
    anonymous = pd.Series({"bought_anonymously": 2})
    facts = catalog_facts(products, families, history, campaign, anonymous_popularity=anonymous)
    assert facts["POPULARITY"].to_dict() == {"liked": 1, "other": 0, "bought_anonymously": 2}
    table = curate(candidates("u", ["liked"]), facts, history, campaign, 2).table
    assert table["ITEM_ID"].tolist() == ["liked", "bought_anonymously"]
    assert table["SOURCE"].tolist() == ["item-item", "popularity"]


def test_products_without_a_price_are_dropped_unless_the_campaign_allows_them():
    products = catalog({"product_id": "free", "discounted_price": None}, {"product_id": "priced"})
    picks = candidates("u", ["free", "priced"])
    assert served(products, picks, 1) == ["priced"]
    assert served(products, picks, 2, price_present=False) == ["free", "priced"]


def test_included_and_excluded_categories_match_any_level_of_the_path():
    products = catalog(
        {"product_id": "cable", "category_path": "Computers|Accessories|Cables"},
        {"product_id": "mouse", "category_path": "Computers|Accessories|Mice"},
        {"product_id": "kettle", "category_path": "Home|Kitchen|Kettles"},
    )
    picks = candidates("u", ["cable", "mouse", "kettle"])
    assert served(products, picks, 1, include_categories=["accessories"]) == ["cable"]
    assert served(products, picks, 1, exclude_categories=["Accessories"]) == ["kettle"]


def test_price_range_keeps_products_between_the_bounds():
    products = catalog(*({"product_id": f"p{price}", "discounted_price": float(price)} for price in (99, 500, 5000)))
    picks = candidates("u", ["p99", "p500", "p5000"])
    assert served(products, picks, 1, min_price=100, max_price=1000) == ["p500"]


def test_a_customer_left_short_gets_the_most_popular_allowed_items_not_of_a_reviewed_family():
    products = catalog(
        {"product_id": "low", "rating": 2.0},
        {"product_id": "top", "product_name": "Acme Kettle (Black)"},
        {"product_id": "top2", "product_name": "Acme Kettle (White)"},
        {"product_id": "mine", "product_name": "Zed Lamp (Red)"},
        {"product_id": "mine2", "product_name": "Zed Lamp (Blue)"},
        {"product_id": "next"},
        {"product_id": "rare"},
    )
    history = pd.DataFrame(
        {
            "USER_ID": ["v", "v", "w", "w", "w", "x", "x", "u"],
            "ITEM_ID": ["top", "low", "top2", "mine2", "next", "mine2", "rare", "mine"],
            "EVENT_VALUE": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0],
        }
    )
    # popularity: Acme Kettle family 2 (one pick for both), Zed Lamp 2 (u reviewed it), low 1 (rated 2), next 1
    assert served(products, candidates("u", ["low"]), 3, history=history) == ["top", "next", "rare"]


def test_the_same_input_gives_the_same_table():
    products = catalog(*({"product_id": f"p{i}"} for i in range(6)))
    picks = pd.concat([candidates("u2", ["p3", "p1"]), candidates("u1", ["p0", "p5", "p2"])])
    campaign = CampaignRules(**NO_CAPS)
    history = pd.DataFrame({"USER_ID": ["u1"], "ITEM_ID": ["p4"], "EVENT_VALUE": [1.0]})
    facts = catalog_facts(products, variant_families(products, reviews_of({})), history, campaign)
    first, second = (curate(picks, facts, history, campaign, 3).table for _ in range(2))
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == list(RECOMMENDATION_COLUMNS)
    assert first.groupby("USER_ID").size().to_dict() == {"u1": 3, "u2": 3}


class FixedRecommender(Recommender):
    """Returns `items` for every user (as Personalize's batch output would) and records how many it was asked for."""

    items: list[str]
    asked: ClassVar[list[int]] = []

    def train(self, interactions, items): ...

    def offline_metrics(self, interactions, items): ...

    def recommend(self, model, interactions, user_ids, num_results, buy_again_after_days=None):
        self.asked.append(num_results)
        return pd.concat([candidates(user, self.items, source="personalize") for user in user_ids])

    def model_settings(self, model): ...


def test_personalize_batch_output_is_curated_and_asked_for_more_candidates():
    products = catalog(
        {"product_id": "a", "product_name": "Nokia 105 Phone | Blue"},
        {"product_id": "b", "product_name": "Nokia 105 Phone | Red"},
        {"product_id": "c", "rating": 3.0},
        {"product_id": "d"},
        {"product_id": "e"},
    )
    recommender = FixedRecommender(items=["a", "b", "c", "d", "e"])
    result = recommendations(
        build_asset_context(partition_key="general"),
        recommender_model=None,
        interactions=pd.DataFrame(
            {"USER_ID": ["u"], "ITEM_ID": ["z"], "EVENT_TYPE": ["purchase"], "EVENT_VALUE": [1.0]}
        ),
        customer_segments=pd.DataFrame({"user_id": ["u"], "segment": ["general"]}),
        products=products,
        events=empty_table(EVENT_COLUMNS),
        variant_families=variant_families(products, reviews_of({})),
        recommender=recommender,
        settings=PipelineSettings(num_results=3),
        campaign=CampaignRules(candidates_per_result=4, max_per_category=3),
        interaction_rules=InteractionRulesResource(),
    )
    assert FixedRecommender.asked == [12]
    assert result.value["ITEM_ID"].tolist() == ["a", "d", "e"]
    assert result.value["SOURCE"].eq("personalize").all()
    assert result.metadata["raw_top_n_broke"].data["min_rating"] == 1
    assert result.metadata["raw_top_n_broke"].data["same_family"] == 1


@pytest.fixture
def graph_inputs():
    """12 products in 2 leaf categories, three colours of one phone and one low-rated product; 30 customers."""
    names = ["Nokia 105 Phone | Blue", "Nokia 105 Phone | Red", "Nokia 105 Phone | Black"]
    rows = [{"product_id": f"p{i:02d}", "leaf": "Phones" if i < 6 else "Cables"} for i in range(12)]
    for row, name in zip(rows, names):
        row["product_name"] = name
    rows[11]["rating"] = 2.5
    products = catalog(*rows).assign(top_category="Electronics")
    users = [f"u{i:02d}" for i in range(30)]
    rng = np.random.default_rng(0)
    reviewed = [(u, f"p{item:02d}") for u in users for item in rng.choice(12, size=3, replace=False)]
    reviews = pd.DataFrame(reviewed, columns=["user_id", "product_id"]).drop_duplicates()
    interactions = pd.DataFrame(
        {
            "USER_ID": reviews["user_id"],
            "ITEM_ID": reviews["product_id"],
            "TIMESTAMP": range(len(reviews)),
            "EVENT_TYPE": "review",
            "EVENT_VALUE": 1.0,
        }
    ).reset_index(drop=True)
    return products, reviews, interactions, users


def test_the_graph_serves_recommendations_that_obey_the_rules(graph_inputs, tmp_path):
    products, reviews, interactions, users = graph_inputs
    recommender = LocalRecommender()
    model = recommender.train(interactions, pd.DataFrame({"ITEM_ID": products["product_id"], "CATEGORY": "x"}))

    stubs = [
        asset(name="products")(lambda: products),
        asset(name="reviews")(lambda: reviews),
        asset(name="interactions")(lambda: interactions),
        asset(name="events")(lambda: empty_table(EVENT_COLUMNS)),
        asset(name="customer_segments")(lambda: pd.DataFrame({"user_id": users, "segment": "general"})),
        asset(name="recommender_model")(lambda: model),
    ]
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("segments", ["general"])
    resources = {
        "recommender": recommender,
        "settings": PipelineSettings(num_results=4),
        "campaign": CampaignRules(max_per_category=2, max_per_brand=3),
        "interaction_rules": InteractionRulesResource(),
    }
    everything = [*stubs, variant_families_asset, recommendations]
    upstream = materialize(
        everything,
        selection=[
            "products",
            "reviews",
            "interactions",
            "events",
            "customer_segments",
            "recommender_model",
            "variant_families",
        ],
        instance=instance,
        resources=resources,
    )
    assert upstream.success
    result = materialize(
        everything, selection=["recommendations"], partition_key="general", instance=instance, resources=resources
    )
    assert result.success
    table = result.output_for_node("recommendations")
    served_items = table.merge(products, left_on="ITEM_ID", right_on="product_id")
    per_user = table.groupby("USER_ID").size()
    assert per_user.index.tolist() == users and per_user.le(4).all() and per_user.sum() >= 4 * len(users) - 3
    assert not served_items["product_name"].str.startswith("Nokia").groupby(served_items["USER_ID"]).sum().gt(1).any()
    assert served_items.groupby(["USER_ID", "leaf_category"]).size().max() == 2
    assert (served_items["rating"] >= 3.5).all()
    assert table.merge(interactions, on=["USER_ID", "ITEM_ID"]).empty


def test_an_email_says_how_the_customer_knows_the_reason_product():
    products = pd.DataFrame(
        {
            "product_id": ["A", "B", "C", "D"],
            "product_name": ["Mug", "Teapot", "Vase", "Lamp"],
            "discounted_price": 1.0,
            "actual_price": 1.0,
            "discount_percentage": 0.0,
            "rating": 4.0,
            "product_link": "",
            "img_link": "",
        }
    )
    interactions = pd.DataFrame(
        {"USER_ID": ["u1", "u2", "u3"], "ITEM_ID": ["A", "A", "A"], "EVENT_TYPE": ["purchase", "review", "wishlist"]}
    )
    recommendations = pd.DataFrame(
        {
            "USER_ID": ["u1", "u2", "u3", "u1"],
            "RANK": [1, 1, 1, 2],
            "ITEM_ID": ["B", "C", "D", "D"],
            "SCORE": 1.0,
            "SOURCE": ["item-item", "item-item", "item-item", "popularity"],
            "REASON_ITEM_ID": ["A", "A", "A", None],
            "REASON_CATEGORY": [None, None, None, None],
        }
    )
    served = with_reason_events(recommendations, interactions)
    assert served["REASON_EVENT"].tolist()[:3] == ["purchase", "review", "wishlist"]
    assert pd.isna(served["REASON_EVENT"].iloc[3])
    reasons = email_items(served, products).set_index(["user_id", "rank"])["reason"]
    assert reasons[("u1", 1)] == "Because you bought Mug"
    assert reasons[("u2", 1)] == "Because you reviewed Mug"
    assert reasons[("u3", 1)] == "Because you liked Mug"
    assert reasons[("u1", 2)] == "Popular with our customers"
