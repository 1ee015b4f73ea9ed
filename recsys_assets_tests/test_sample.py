import gzip

import numpy as np
import pandas as pd
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from recsys_assets.cli import main
from recsys_assets.formats.reading import read_input
from recsys_assets.sample.customers import customer_profiles
from recsys_assets.sample.formats import ORDER_LINE_COLUMNS, order_lines, personalize_files, write_sample
from recsys_assets.sample.generator import draw_sample, generate_catalog, planted_tastes, review_texts, write_catalog
from recsys_assets.sample.vocabulary import TITLES

AMAZON_COLUMNS = [
    "product_id",
    "product_name",
    "category",
    "discounted_price",
    "actual_price",
    "discount_percentage",
    "rating",
    "rating_count",
    "about_product",
    "user_id",
    "user_name",
    "review_id",
    "review_title",
    "review_content",
    "img_link",
    "product_link",
]
LIST_COLUMNS = ["user_id", "user_name", "review_id", "review_title"]
INDIAN_GROUPED = r"(\d{1,3}|[1-9]\d?(,\d\d)*,\d{3})"
TOP_LEVELS = {
    "Electronics",
    "Computers&Accessories",
    "Home&Kitchen",
    "OfficeProducts",
    "MusicalInstruments",
    "HomeImprovement",
    "Toys&Games",
    "Car&Motorbike",
    "Health&PersonalCare",
}


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return generate_catalog(n_products=150, n_users=300, n_reviews=2400, seed=11)


@pytest.fixture(scope="module")
def reviews(catalog: pd.DataFrame) -> pd.DataFrame:
    """One row per review: product, user, top-level category and the star its title was written for."""
    star_of_title = {title: star for star, titles in enumerate(TITLES, start=1) for title in titles}
    per_product = catalog[["product_id", "category", "rating"]].assign(
        user_id=catalog["user_id"].str.split(","), review_title=catalog["review_title"].str.split(",")
    )
    exploded = per_product.explode(["user_id", "review_title"], ignore_index=True)
    return exploded.assign(
        top=exploded["category"].str.split("|").str[0], star=exploded["review_title"].map(star_of_title)
    )


def test_catalog_has_the_sixteen_amazon_columns_in_order_all_strings(catalog):
    assert list(catalog.columns) == AMAZON_COLUMNS
    assert all(pd.api.types.is_string_dtype(dtype) for dtype in catalog.dtypes)


def test_totals_match_requested_products_users_and_reviews(catalog, reviews):
    assert len(catalog) == 150
    assert len(reviews) == 2400
    assert reviews["user_id"].nunique() == 300


def test_list_columns_have_one_entry_per_reviewer(catalog):
    lengths = [catalog[column].str.split(",").str.len() for column in LIST_COLUMNS]
    assert all((length == lengths[0]).all() for length in lengths)
    assert (lengths[0] >= 1).all()


def test_review_content_misaligns_for_a_few_products_only():
    catalog = generate_catalog(n_products=2000, n_users=500, n_reviews=6000, seed=3)
    reviewers = catalog["user_id"].str.split(",").str.len()
    contents = catalog["review_content"].str.split(r",(?!\s)", regex=True).str.len()
    misaligned_share = (contents != reviewers).mean()
    assert 0.01 < misaligned_share < 0.06
    assert (contents >= reviewers).all()


def test_a_user_never_reviews_a_product_twice(reviews):
    assert not reviews.duplicated(["user_id", "product_id"]).any()


def test_ids_look_like_amazon_ids_and_are_unique(catalog, reviews):
    review_ids = catalog["review_id"].str.split(",").explode()
    assert catalog["product_id"].str.fullmatch(r"B0[A-Z0-9]{8}").all()
    assert reviews["user_id"].str.fullmatch(r"A[A-Z0-9]{27}").all()
    assert review_ids.str.fullmatch(r"R[A-Z0-9]{12,13}").all()
    assert catalog["product_id"].is_unique and review_ids.is_unique


def test_prices_percentages_ratings_and_counts_use_the_real_formats(catalog):
    assert catalog["discounted_price"].str.fullmatch("₹" + INDIAN_GROUPED).all()
    assert catalog["actual_price"].str.fullmatch("₹" + INDIAN_GROUPED).all()
    assert catalog["rating_count"].str.fullmatch(INDIAN_GROUPED).all()
    assert catalog["discount_percentage"].str.fullmatch(r"\d{1,2}%").all()
    assert catalog["rating"].str.fullmatch(r"[1-5]\.\d").all()


def test_discount_percentage_is_the_rounded_gap_between_the_two_prices(catalog):
    discounted = catalog["discounted_price"].str.replace(r"[₹,]", "", regex=True).astype(int)
    actual = catalog["actual_price"].str.replace(r"[₹,]", "", regex=True).astype(int)
    percentage = catalog["discount_percentage"].str.rstrip("%").astype(int)
    assert (discounted <= actual).all()
    assert (percentage == np.floor((1 - discounted / actual) * 100 + 0.5)).all()


def test_rating_is_the_mean_star_of_the_listed_reviews_and_count_covers_them(catalog, reviews):
    per_product = reviews.groupby("product_id", sort=False).agg(mean_star=("star", "mean"), listed=("star", "size"))
    per_product = per_product.reindex(catalog["product_id"])
    assert (catalog["rating"].astype(float).to_numpy() == np.floor(per_product["mean_star"] * 10 + 0.5) / 10).all()
    assert (catalog["rating_count"].str.replace(",", "").astype(int).to_numpy() >= per_product["listed"]).all()


def test_categories_are_three_to_five_level_paths_under_the_real_top_levels(catalog):
    levels = catalog["category"].str.split("|")
    assert levels.str.len().between(3, 5).all()
    assert set(levels.str[0]) == TOP_LEVELS


def test_links_point_at_the_product_like_the_real_file(catalog):
    assert catalog.apply(lambda row: f"/dp/{row.product_id}/" in row.product_link, axis=1).all()
    assert catalog["product_link"].str.startswith("https://www.amazon.in/").all()
    assert catalog["img_link"].str.fullmatch(r"https://m\.media-amazon\.com/images/.*I/\w{11}\._[\w_]+\.jpg").all()


def test_same_seed_gives_identical_csv_bytes_and_another_seed_differs(tmp_path):
    paths = [tmp_path / f"{name}.csv" for name in ("first", "again", "other")]
    for path, seed in zip(paths, (5, 5, 6)):
        write_catalog(generate_catalog(n_products=40, n_users=60, n_reviews=300, seed=seed), path)
    first, again, other = (path.read_bytes() for path in paths)
    assert first == again
    assert first != other


def test_written_csv_reads_back_unchanged_without_bom(tmp_path, catalog):
    path = tmp_path / "catalog.csv"
    write_catalog(catalog, path)
    assert path.read_bytes().startswith(b"product_id,product_name,category,")
    pd.testing.assert_frame_equal(pd.read_csv(path, dtype=str, keep_default_na=False), catalog)


def test_timestamps_are_a_seventeenth_column_aligned_with_user_ids(catalog):
    with_time = generate_catalog(n_products=150, n_users=300, n_reviews=2400, seed=11, include_timestamps=True)
    timestamps = with_time["timestamp"].str.split(",")
    assert list(with_time.columns) == AMAZON_COLUMNS + ["timestamp"]
    assert (timestamps.str.len() == with_time["user_id"].str.split(",").str.len()).all()
    assert timestamps.explode().str.fullmatch(r"1[5-6]\d{8}").all()
    pd.testing.assert_frame_equal(with_time[AMAZON_COLUMNS], catalog)


@pytest.mark.parametrize(
    ("n_products", "n_users", "n_reviews", "message"),
    [
        (10, 50, 40, "n_users"),
        (50, 10, 40, "n_products"),
        (2, 3, 7, "at most once"),
    ],
)
def test_impossible_sizes_raise_value_error(n_products, n_users, n_reviews, message):
    with pytest.raises(ValueError, match=message):
        generate_catalog(n_products=n_products, n_users=n_users, n_reviews=n_reviews)


def test_a_catalog_every_user_reviews_completely_is_still_filled():
    catalog = generate_catalog(n_products=3, n_users=4, n_reviews=12, seed=1)
    assert (catalog["user_id"].str.split(",").str.len() == 4).all()


def test_vader_reads_high_stars_as_positive_and_low_stars_as_negative():
    stars = np.repeat([1, 2, 4, 5], 100)
    titles, contents = review_texts(stars, np.full(len(stars), "cable", dtype=object), np.random.default_rng(0))
    analyzer = SentimentIntensityAnalyzer()
    compound = np.array(
        [analyzer.polarity_scores(f"{title}. {content}")["compound"] for title, content in zip(titles, contents)]
    )
    assert (compound[stars >= 4] > 0.05).mean() > 0.95
    assert (compound[stars <= 2] < -0.05).mean() > 0.95


def test_users_concentrate_on_a_favourite_top_level_category(reviews):
    top_share = reviews.groupby("user_id")["top"].agg(lambda tops: tops.value_counts(normalize=True).iloc[0])
    active = reviews.groupby("user_id").size() >= 5
    assert top_share[active].mean() > 0.6
    assert reviews["top"].value_counts(normalize=True).iloc[0] < 0.3


def test_reviews_in_a_users_main_category_get_higher_stars(reviews):
    main_top = reviews.groupby("user_id")["top"].agg(lambda tops: tops.value_counts().index[0])
    in_taste = reviews["top"] == reviews["user_id"].map(main_top)
    assert reviews.loc[in_taste, "star"].ge(4).mean() > 0.7
    assert reviews.loc[~in_taste, "star"].le(2).mean() > 0.25


def test_review_counts_per_user_are_heavy_tailed(reviews):
    per_user = reviews.groupby("user_id").size()
    assert per_user.min() == 1
    assert per_user.le(2).mean() > 0.3
    assert per_user.ge(10).mean() > 0.05


def test_planted_tastes_are_each_users_chances_over_the_catalogs_products(catalog, reviews):
    tastes = planted_tastes(n_products=150, n_users=300, n_reviews=2400, seed=11)
    assert set(tastes.index) == set(reviews["user_id"]) and set(tastes.columns) == set(catalog["product_id"])
    np.testing.assert_allclose(tastes.sum(axis=1), 1.0)
    # the catalog was drawn from them: a review is far likelier under its reviewer's tastes than the average user's
    own = tastes.to_numpy()[
        tastes.index.get_indexer(reviews["user_id"]), tastes.columns.get_indexer(reviews["product_id"])
    ]
    average = tastes.mean(axis=0).reindex(reviews["product_id"]).to_numpy()
    assert own.mean() > 3 * average.mean()


SMALL = {"n_products": 30, "n_users": 50, "n_reviews": 300}


@pytest.fixture(scope="module")
def draw():
    return draw_sample(**SMALL, seed=4)


def sample_cli(*args: str) -> int:
    return main(["sample", "--products", "30", "--users", "50", "--reviews", "300", *args])


def test_the_kaggle_format_is_the_catalog_generate_catalog_draws(tmp_path):
    assert sample_cli("--out", str(tmp_path / "a.csv"), "--seed", "4") == 0
    write_catalog(generate_catalog(**SMALL, seed=4), tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


@pytest.mark.parametrize("sample_format, out", [("kaggle", "c.csv.gz"), ("personalize", "p"), ("order-lines", "o.csv")])
def test_the_same_seed_writes_the_same_bytes_in_every_format_and_another_seed_other_ones(tmp_path, sample_format, out):
    def written(seed: str, folder: str) -> dict[str, bytes]:
        assert sample_cli("--format", sample_format, "--out", str(tmp_path / folder / out), "--seed", seed) == 0
        return {p.name: p.read_bytes() for p in sorted((tmp_path / folder).rglob("*")) if p.is_file()}

    first, again, other = written("4", "first"), written("4", "again"), written("5", "other")
    assert first == again and first.keys() == other.keys()
    assert all(first[name] != other[name] for name in first)
    if out.endswith(".gz"):
        assert gzip.decompress(first[out]).startswith(b"product_id,product_name,")


def read_folder(folder) -> list:
    return [read_input(path.read_bytes(), path.name) for path in sorted(folder.iterdir())]


def test_every_format_reads_back_with_the_same_customers_and_products(tmp_path, draw):
    write_sample(draw, "kaggle", tmp_path / "kaggle.csv", seed=4)
    write_sample(draw, "personalize", tmp_path / "personalize", seed=4)
    kaggle = read_input((tmp_path / "kaggle.csv").read_bytes(), "kaggle.csv")
    tables = read_folder(tmp_path / "personalize")
    assert [t.rejected is None or t.rejected.empty for t in [kaggle, *tables]] == [True] * 5
    items, users, events, reviews = (
        max(tables, key=lambda t, name=name: len(getattr(t, name)))
        for name in ("products", "customers", "events", "reviews")
    )
    customers = set(draw.user_ids)
    assert set(kaggle.customers["user_id"]) == set(users.customers["user_id"]) == customers
    assert set(events.events["user_id"]) == set(reviews.reviews["user_id"]) == customers
    assert set(kaggle.products["product_id"]) == set(items.products["product_id"]) == set(draw.product_ids)
    pd.testing.assert_frame_equal(
        items.products.sort_values("product_id", ignore_index=True).astype(str),
        kaggle.products.sort_values("product_id", ignore_index=True).astype(str),
    )


def test_personalize_users_have_their_reviewer_names_a_demo_address_and_consent_with_a_few_unsubscribed(draw):
    users = personalize_files(draw, seed=4, unsubscribed_share=0.2)["users.csv"]
    names = dict(zip(draw.user_ids, draw.user_names))
    assert users["NAME"].tolist() == users["USER_ID"].map(names).tolist()
    assert (
        users["EMAIL"].is_unique and users["EMAIL"].str.fullmatch(r"[a-z0-9.]+\.[0-9a-f]{6}@customers\.example").all()
    )
    assert set(users["CONSENT"]) == {"opted_in", "unsubscribed"}
    assert 0.05 < (users["CONSENT"] == "unsubscribed").mean() < 0.4
    assert (users["LOCALE"] != "").all()


def test_personalize_interactions_are_a_purchase_per_review_before_it_and_views(draw):
    files = personalize_files(draw, seed=4)
    interactions, reviews = files["interactions.csv"], files["reviews.csv"]
    bought = interactions[interactions["EVENT_TYPE"] == "purchase"]
    assert len(bought) == len(reviews) and set(interactions["EVENT_TYPE"]) == {"purchase", "view"}
    when = bought.set_index(["USER_ID", "ITEM_ID"])["TIMESTAMP"]
    reviewed = reviews.set_index(["USER_ID", "ITEM_ID"])["TIMESTAMP"]
    assert (when.reindex(reviewed.index) < reviewed).all()
    assert bought["ORDER_ID"].nunique() < len(bought)  # some orders hold several purchases
    assert (bought["QUANTITY"] >= 1).all() and (bought["PRICE"] > 0).all()


def test_order_lines_hold_the_purchases_a_few_later_cancellations_postage_and_lines_without_a_customer(draw):
    lines = order_lines(draw, seed=4)
    assert list(lines.columns) == list(ORDER_LINE_COLUMNS)
    cancelled = lines[lines["InvoiceNo"].str.startswith("C")]
    sold = lines[~lines["InvoiceNo"].str.startswith("C") & (lines["StockCode"] != "POST")]
    assert len(cancelled) and (cancelled["Quantity"] < 0).all() and (sold["Quantity"] > 0).all()
    first_sale = sold.groupby(["CustomerID", "StockCode"])["InvoiceDate"].min()
    assert (
        cancelled.set_index(["CustomerID", "StockCode"])["InvoiceDate"]
        > first_sale.reindex(pd.MultiIndex.from_frame(cancelled[["CustomerID", "StockCode"]]))
    ).all()
    assert (lines.loc[lines["StockCode"] == "POST", "Description"] == "POSTAGE").any()
    assert (lines["CustomerID"] == "").any() and set(lines["CustomerID"]) - {""} == set(draw.user_ids)
    assert lines["InvoiceDate"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()
    assert lines["UnitPrice"].str.fullmatch(r"\d+\.\d\d").all()
    # each invoice is one customer's, at one time
    assert (lines.groupby("InvoiceNo")[["CustomerID", "InvoiceDate"]].nunique() == 1).all().all()


def test_order_lines_read_back_as_purchases_and_cancellations_in_pounds(tmp_path, draw):
    pytest.importorskip("recsys_assets.formats.order_lines")
    write_sample(draw, "order-lines", tmp_path / "o.csv.gz", seed=4)
    tables = read_input((tmp_path / "o.csv.gz").read_bytes(), "o.csv.gz")
    assert tables.format == "order-lines" and set(tables.products["currency"]) == {"GBP"}
    assert set(tables.events["event_type"]) == {"purchase", "cancellation"}
    assert set(tables.customers["user_id"]) == set(draw.user_ids)
    assert set(tables.rejected["reason"]) == {"stock code POST is postage, not a product"}


def test_a_customers_profile_depends_on_their_id_and_the_seed_only():
    few = customer_profiles(pd.Series(["U1", "U2"]), seed=3)
    more = customer_profiles(pd.Series(["U0", "U2", "U1", "U3", "U2"]), seed=3)
    assert more["USER_ID"].tolist() == ["U0", "U1", "U2", "U3"]
    pd.testing.assert_frame_equal(more.iloc[1:3].reset_index(drop=True), few)
    assert not customer_profiles(pd.Series(["U1", "U2"]), seed=4).equals(few)
    with pytest.raises(ValueError, match="unsubscribed share"):
        customer_profiles(pd.Series(["U1"]), unsubscribed_share=1.5)


def test_a_users_file_for_an_input_gives_every_customer_a_name_an_address_and_consent(tmp_path, capsys):
    events = tmp_path / "interactions.csv"
    events.write_text("USER_ID,ITEM_ID,TIMESTAMP\n17850,P1,1600000000\n12346,P2,1600000100\n17850,P2,1600000200\n")
    customers = tmp_path / "users.csv"
    customers.write_text("USER_ID,NAME,COUNTRY\n17850,Ann Lee,United Kingdom\n")
    for name, given in (("for_events.csv", events), ("for_customers.csv", customers)):
        assert main(["sample", "--users-for", str(given), "--out", str(tmp_path / name), "--domain", "shop.test"]) == 0
    assert "2 customers of" in capsys.readouterr().out
    users = pd.read_csv(tmp_path / "for_events.csv", dtype=str, keep_default_na=False)
    assert users["USER_ID"].tolist() == ["12346", "17850"]
    assert (users["NAME"] != "").all() and users["EMAIL"].str.endswith("@shop.test").all()
    assert set(users["CONSENT"]) <= {"opted_in", "unsubscribed"}
    named = pd.read_csv(tmp_path / "for_customers.csv", dtype=str, keep_default_na=False)
    assert named.iloc[0][["NAME", "COUNTRY", "LOCALE"]].tolist() == ["Ann Lee", "United Kingdom", "en-GB"]
    assert named.iloc[0]["EMAIL"].startswith("ann.lee.")
    again = tmp_path / "again.csv"
    assert main(["sample", "--users-for", str(events), "--out", str(again), "--domain", "shop.test"]) == 0
    assert again.read_bytes() == (tmp_path / "for_events.csv").read_bytes()
    assert read_input(again.read_bytes(), "again.csv").customers["email"].tolist() == users["EMAIL"].tolist()


def test_sample_help_shows_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--format", "--users-for", "--unsubscribed-share", "--domain", "--seed"):
        assert option in text
    assert "default: kaggle" in text and "default: 0.05" in text and "default: customers.example" in text


def test_a_users_file_for_a_personalize_folder_is_the_samples_own_users_file(tmp_path, draw):
    write_sample(draw, "personalize", tmp_path / "shop", seed=4)
    out = tmp_path / "users.csv"
    assert main(["sample", "--users-for", str(tmp_path / "shop"), "--out", str(out), "--seed", "4"]) == 0
    assert out.read_bytes() == (tmp_path / "shop" / "users.csv").read_bytes()
