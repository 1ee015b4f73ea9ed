"""Synthetic product catalog in the exact Kaggle "Amazon Sales Dataset" (amazon.csv) format.

Each row is a product; user_id, user_name, review_id, review_title and review_content hold that
product's reviewers as lists joined with "," (no space). Planted structure for recommenders: every user
has one or two favourite top-level categories and a favourite subcategory, product popularity is
Zipf-like within a category, review counts per user are heavy-tailed, and stars (which drive the review
wording and the product rating) are high inside a user's taste and low outside it.
"""

from __future__ import annotations

import csv
from os import PathLike
from typing import NamedTuple

import numpy as np
import pandas as pd

CATALOG_COLUMNS = (
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
)


class _Leaf(NamedTuple):
    path: str
    noun: str  # what a reviewer calls it; none of these words is in the VADER lexicon
    names: tuple[str, ...]
    specs: tuple[str, ...]
    price_range: tuple[int, int]


_TAXONOMY = (
    _Leaf(
        "Electronics|Mobiles&Accessories|Smartphones&BasicMobiles|Smartphones",
        "phone",
        ("5G Smartphone", "Smartphone"),
        ("4GB RAM, 64GB Storage", "6GB RAM, 128GB Storage", "8GB RAM, 256GB Storage"),
        (7_000, 80_000),
    ),
    _Leaf(
        "Electronics|Mobiles&Accessories|MobileAccessories|Chargers|WallChargers",
        "charger",
        ("Fast Wall Charger", "Dual Port Charger Adapter"),
        ("20W", "33W", "65W"),
        (299, 2_999),
    ),
    _Leaf(
        "Electronics|Mobiles&Accessories|MobileAccessories|Cases&Covers|BasicCases",
        "case",
        ("Back Cover Case", "Silicone Case"),
        ("Shockproof", "Slim Fit", "Transparent"),
        (99, 999),
    ),
    _Leaf(
        "Electronics|HomeTheater,TV&Video|Televisions|SmartTelevisions",
        "tv",
        ("Smart LED TV", "4K Ultra HD Android TV"),
        ("32 inch", "43 inch", "55 inch", "65 inch"),
        (11_000, 1_60_000),
    ),
    _Leaf(
        "Electronics|HomeTheater,TV&Video|Accessories|RemoteControls",
        "remote",
        ("Universal Remote Control", "TV Remote"),
        ("for LED TV", "with Netflix Button"),
        (149, 799),
    ),
    _Leaf(
        "Electronics|HomeTheater,TV&Video|Accessories|Cables|HDMICables",
        "cable",
        ("HDMI Cable", "Braided HDMI 2.1 Cable"),
        ("4K 60Hz", "1.5 Meter", "3 Meter"),
        (149, 1_499),
    ),
    _Leaf(
        "Electronics|Headphones,Earbuds&Accessories|Headphones|In-Ear",
        "earbuds",
        ("Wireless Earbuds", "Wired Earphones with Mic"),
        ("Bluetooth 5.3", "40H Playtime", "ENC Calling"),
        (299, 9_999),
    ),
    _Leaf(
        "Electronics|Headphones,Earbuds&Accessories|Headphones|On-Ear",
        "headphones",
        ("Wireless Headphones", "On Ear Headphones"),
        ("Deep Bass", "Foldable", "30H Battery"),
        (699, 14_999),
    ),
    _Leaf(
        "Electronics|WearableTechnology|SmartWatches",
        "watch",
        ("Smart Watch", "Fitness Band"),
        ("1.8 inch Display", "Bluetooth Calling", "SpO2 Monitor"),
        (999, 29_999),
    ),
    _Leaf(
        "Electronics|HomeAudio|Speakers|BluetoothSpeakers",
        "speaker",
        ("Portable Bluetooth Speaker", "Soundbar"),
        ("10W", "20W", "IPX7 Waterproof"),
        (599, 19_999),
    ),
    _Leaf(
        "Electronics|Cameras&Photography|Accessories|Tripods&Monopods",
        "tripod",
        ("Tripod Stand", "Selfie Stick Tripod"),
        ("with Remote", "Aluminium", "61 inch"),
        (299, 2_999),
    ),
    _Leaf(
        "Electronics|GeneralPurposeBatteries&BatteryChargers|DisposableBatteries",
        "batteries",
        ("AA Alkaline Batteries", "AAA Alkaline Batteries"),
        ("Pack of 4", "Pack of 10"),
        (60, 600),
    ),
    _Leaf(
        "Computers&Accessories|Accessories&Peripherals|Cables&Accessories|Cables|USBCables",
        "cable",
        ("USB Type C Cable", "Micro USB Cable", "USB to Lightning Cable"),
        ("Fast Charging", "Nylon Braided", "1.5m"),
        (99, 1_499),
    ),
    _Leaf(
        "Computers&Accessories|Accessories&Peripherals|Keyboards,Mice&InputDevices|Mice",
        "mouse",
        ("Wireless Mouse", "Optical Wired Mouse"),
        ("1600 DPI", "Silent Click", "Ergonomic"),
        (199, 2_499),
    ),
    _Leaf(
        "Computers&Accessories|Accessories&Peripherals|Keyboards,Mice&InputDevices|Keyboards",
        "keyboard",
        ("Wired Keyboard", "Wireless Keyboard and Mouse Combo"),
        ("Full Size", "Spill Resistant"),
        (399, 3_999),
    ),
    _Leaf(
        "Computers&Accessories|Accessories&Peripherals|LaptopAccessories|Lapdesks",
        "stand",
        ("Laptop Stand", "Adjustable Laptop Table"),
        ("Foldable", "Aluminium", "Height Adjustable"),
        (299, 2_999),
    ),
    _Leaf(
        "Computers&Accessories|Accessories&Peripherals|PCGamingPeripherals|Headsets",
        "headset",
        ("Gaming Headset", "USB Headset with Mic"),
        ("7.1 Surround", "RGB", "Noise Cancelling Mic"),
        (699, 7_999),
    ),
    _Leaf(
        "Computers&Accessories|NetworkingDevices|Routers",
        "router",
        ("WiFi Router", "Dual Band Router"),
        ("300Mbps", "AC1200", "4 Antennas"),
        (999, 6_999),
    ),
    _Leaf(
        "Computers&Accessories|ExternalDevices&DataStorage|PenDrives",
        "pen drive",
        ("USB 3.0 Pen Drive", "Metal Flash Drive"),
        ("32GB", "64GB", "128GB"),
        (249, 1_999),
    ),
    _Leaf(
        "Computers&Accessories|Components|Memory",
        "card",
        ("microSD Memory Card", "SDXC Memory Card"),
        ("64GB", "128GB", "256GB"),
        (299, 2_999),
    ),
    _Leaf(
        "Computers&Accessories|Laptops|TraditionalLaptops",
        "laptop",
        ("Thin and Light Laptop", "Gaming Laptop"),
        ("Intel Core i5, 16GB RAM, 512GB SSD", "Ryzen 7, 16GB RAM, 1TB SSD"),
        (30_000, 1_50_000),
    ),
    _Leaf(
        "Computers&Accessories|Printers,Inks&Accessories|Inks,Toners&Cartridges|InkjetInkCartridges",
        "cartridge",
        ("Ink Cartridge", "Ink Bottle Set"),
        ("Black", "Tri-Colour"),
        (299, 2_499),
    ),
    _Leaf(
        "Home&Kitchen|Kitchen&HomeAppliances|SmallKitchenAppliances|MixerGrinders",
        "mixer",
        ("Mixer Grinder", "Juicer Mixer Grinder"),
        ("500W, 3 Jars", "750W, 4 Jars"),
        (1_499, 8_999),
    ),
    _Leaf(
        "Home&Kitchen|Kitchen&HomeAppliances|SmallKitchenAppliances|Kettles&HotWaterDispensers|ElectricKettles",
        "kettle",
        ("Electric Kettle", "Stainless Steel Kettle"),
        ("1.5 Litre", "1.8 Litre"),
        (499, 2_999),
    ),
    _Leaf(
        "Home&Kitchen|Kitchen&HomeAppliances|Vacuum,Cleaning&Ironing|Irons",
        "iron",
        ("Dry Iron", "Steam Iron"),
        ("1000W", "1200W", "Non-Stick Soleplate"),
        (399, 3_499),
    ),
    _Leaf(
        "Home&Kitchen|Kitchen&HomeAppliances|WaterPurifiers&Accessories|WaterFilters",
        "purifier",
        ("RO Water Purifier", "UV Water Purifier"),
        ("7 Litre", "8 Litre"),
        (4_999, 24_999),
    ),
    _Leaf(
        "Home&Kitchen|Heating,Cooling&AirQuality|RoomHeaters|FanHeaters",
        "heater",
        ("Room Heater", "Fan Heater"),
        ("2000W", "with Thermostat"),
        (999, 5_999),
    ),
    _Leaf(
        "Home&Kitchen|Heating,Cooling&AirQuality|Humidifiers",
        "humidifier",
        ("Cool Mist Humidifier", "Ultrasonic Humidifier"),
        ("2.5 Litre", "with Night Light"),
        (799, 4_999),
    ),
    _Leaf(
        "Home&Kitchen|Kitchen&Dining|Cookware|Pans",
        "pan",
        ("Non-Stick Fry Pan", "Hard Anodised Kadai"),
        ("24 cm", "28 cm"),
        (399, 2_999),
    ),
    _Leaf(
        "Home&Kitchen|HomeStorage&Organization|LaundryOrganization|LaundryBaskets",
        "basket",
        ("Laundry Basket", "Foldable Laundry Bag"),
        ("45 Litre", "60 Litre"),
        (199, 1_499),
    ),
    _Leaf(
        "OfficeProducts|OfficePaperProducts|Paper|Stationery|Notebooks,WritingPads&Diaries",
        "notebook",
        ("Spiral Notebook", "Ruled Diary"),
        ("A5", "200 Pages", "Pack of 6"),
        (49, 499),
    ),
    _Leaf(
        "OfficeProducts|OfficePaperProducts|Paper|Stationery|Pens",
        "pens",
        ("Gel Pen Set", "Ball Pen"),
        ("Pack of 10", "Blue Ink", "0.5 mm"),
        (49, 399),
    ),
    _Leaf(
        "OfficeProducts|OfficeElectronics|Calculators|Scientific",
        "calculator",
        ("Scientific Calculator", "Desktop Calculator"),
        ("240 Functions", "12 Digit"),
        (299, 1_499),
    ),
    _Leaf(
        "MusicalInstruments|Microphones|Condenser",
        "mic",
        ("Condenser Microphone", "Lavalier Mic"),
        ("USB", "3.5mm", "with Pop Filter"),
        (399, 6_999),
    ),
    _Leaf(
        "MusicalInstruments|Guitars&Accessories|AcousticGuitars",
        "guitar",
        ("Acoustic Guitar", "Guitar Kit"),
        ("38 inch", "40 inch", "with Bag"),
        (2_499, 14_999),
    ),
    _Leaf(
        "MusicalInstruments|Keyboards&Pianos|PortableKeyboards",
        "keyboard",
        ("Portable Keyboard", "Digital Piano"),
        ("49 Keys", "61 Keys"),
        (1_999, 24_999),
    ),
    _Leaf(
        "HomeImprovement|Electrical|CordManagement",
        "clips",
        ("Cable Organiser Clips", "Cable Ties"),
        ("Pack of 20", "Self Adhesive"),
        (99, 499),
    ),
    _Leaf(
        "HomeImprovement|Electrical|Adapters&Multi-Outlets|ExtensionBoards",
        "extension board",
        ("Extension Board", "Surge Protector"),
        ("4 Sockets", "6 Sockets, 2 USB"),
        (299, 1_999),
    ),
    _Leaf(
        "HomeImprovement|PowerTools|Drills",
        "drill",
        ("Cordless Drill Machine", "Impact Drill"),
        ("12V", "550W", "13 mm"),
        (1_499, 7_999),
    ),
    _Leaf(
        "Toys&Games|Arts&Crafts|Drawing&PaintingSupplies|ColouringPens&Markers",
        "markers",
        ("Sketch Pens", "Colouring Markers"),
        ("24 Shades", "Pack of 12"),
        (99, 699),
    ),
    _Leaf(
        "Toys&Games|Puzzles|JigsawPuzzles",
        "puzzle",
        ("Jigsaw Puzzle", "3D Wooden Puzzle"),
        ("500 Pieces", "1000 Pieces"),
        (199, 1_499),
    ),
    _Leaf(
        "Toys&Games|RemoteControlToys|Cars",
        "car",
        ("RC Racing Car", "Remote Control Monster Truck"),
        ("2.4 GHz", "Rechargeable"),
        (599, 3_999),
    ),
    _Leaf(
        "Car&Motorbike|CarAccessories|InteriorAccessories|AirPurifiers&Ionizers",
        "purifier",
        ("Car Air Purifier", "Car Ionizer"),
        ("HEPA Filter", "USB Powered"),
        (999, 5_999),
    ),
    _Leaf(
        "Car&Motorbike|CarAccessories|MobileHolders",
        "holder",
        ("Car Mobile Holder", "Dashboard Phone Mount"),
        ("360 Degree", "Magnetic"),
        (199, 1_499),
    ),
    _Leaf(
        "Car&Motorbike|MotorbikeAccessories|Helmets|FullFaceHelmets",
        "helmet",
        ("Full Face Helmet", "Open Face Helmet"),
        ("ISI Certified", "Medium 580 mm"),
        (899, 4_999),
    ),
    _Leaf(
        "Health&PersonalCare|HomeMedicalSupplies&Equipment|HealthMonitors|WeighingScales|DigitalBathroomScales",
        "scale",
        ("Digital Weighing Scale", "Body Fat Scale"),
        ("180 kg Capacity", "Glass Top"),
        (499, 2_999),
    ),
    _Leaf(
        "Health&PersonalCare|HomeMedicalSupplies&Equipment|HealthMonitors|PulseOximeters",
        "oximeter",
        ("Pulse Oximeter", "Fingertip Oximeter"),
        ("OLED Display", "with Lanyard"),
        (499, 2_499),
    ),
    _Leaf(
        "Health&PersonalCare|PersonalCare|ShavingAndHairRemoval|Trimmers",
        "trimmer",
        ("Beard Trimmer", "Hair Clipper"),
        ("60 min Runtime", "Cordless", "20 Length Settings"),
        (499, 3_999),
    ),
)
_LEAVES = tuple(sorted(_TAXONOMY, key=lambda leaf: leaf.path))  # sorting makes every path prefix contiguous
_LEAF_PATHS = np.array([leaf.path for leaf in _LEAVES], dtype=object)
_LEAF_NOUNS = np.array([leaf.noun for leaf in _LEAVES], dtype=object)
_TOP_LEVEL_SHARE = {
    "Electronics": 0.24,
    "Computers&Accessories": 0.22,
    "Home&Kitchen": 0.22,
    "OfficeProducts": 0.07,
    "MusicalInstruments": 0.04,
    "HomeImprovement": 0.05,
    "Toys&Games": 0.05,
    "Car&Motorbike": 0.05,
    "Health&PersonalCare": 0.06,
}
_STORE_SLUG = {
    "Electronics": "electronics",
    "Computers&Accessories": "computers",
    "Home&Kitchen": "kitchen",
    "OfficeProducts": "office-products",
    "MusicalInstruments": "musical-instruments",
    "HomeImprovement": "home-improvement",
    "Toys&Games": "toys",
    "Car&Motorbike": "automotive",
    "Health&PersonalCare": "hpc",
}
_BRANDS = np.array(
    [
        "Zentrix",
        "Voltaq",
        "Orvana",
        "Nexora",
        "Trimax",
        "Lumio",
        "Bluvo",
        "Crestline",
        "Havlo",
        "Pravah",
        "Quorra",
        "Rivaan",
        "Solvio",
        "Tejas",
        "Urbana",
        "Kavya Home",
        "Amplix",
        "Desi Craft",
        "Flintek",
        "Myra",
    ],
    dtype=object,
)
_COLOURS = np.array(["Black", "White", "Grey", "Blue", "Red", "Silver", "Midnight Blue", "Multicolour"], dtype=object)
_FIRST_NAMES = np.array(
    [
        "Aarav",
        "Aditya",
        "Akash",
        "Amit",
        "Ananya",
        "Anjali",
        "Arjun",
        "Deepak",
        "Divya",
        "Gaurav",
        "Harish",
        "Ishaan",
        "Kavita",
        "Kiran",
        "Manav",
        "Meera",
        "Neha",
        "Nikhil",
        "Pooja",
        "Priya",
        "Rahul",
        "Rajesh",
        "Ramesh",
        "Riya",
        "Rohan",
        "Sanjay",
        "Sneha",
        "Sunil",
        "Suresh",
        "Tanvi",
        "Varun",
        "Vikram",
        "Zoya",
    ],
    dtype=object,
)
_LAST_NAMES = np.array(
    [
        "Sharma",
        "Verma",
        "Gupta",
        "Singh",
        "Kumar",
        "Patel",
        "Reddy",
        "Nair",
        "Iyer",
        "Das",
        "Khan",
        "Joshi",
        "Mehta",
        "Chopra",
        "Malik",
        "Pillai",
        "Rao",
        "Bose",
        "Yadav",
        "Mishra",
    ],
    dtype=object,
)
# Feature bullets for about_product; "{}" is where the product noun goes.
_ABOUT_TEMPLATES = np.array(
    [
        "BUILD QUALITY : The {} is made from durable materials that hold up to daily use.",
        "EASY TO USE : Set up the {} in minutes, no tools or technical skills needed.",
        "COMPACT DESIGN : A lightweight {} that fits easily in a bag, drawer or desk.",
        "WARRANTY : 1 year manufacturer warranty on the {} from the date of purchase.",
        "WIDE COMPATIBILITY : This {} works with most popular brands and models.",
        "SAFETY : The {} is tested for safe operation and comes with overload protection.",
        "IN THE BOX : Everything you need to start using your {} is included.",
        "PREMIUM FINISH : A sleek {} with a matte finish that resists scratches and fingerprints.",
        "SUPPORT : Reach our service team any time for help with your {}.",
    ],
    dtype=object,
)
# Review wording per star (row 0 = 1 star). Titles never contain a comma; content sentences only contain
# ", " (comma + space), so a list split on commas-not-followed-by-whitespace stays aligned.
_TITLES = np.array(
    [
        ["Waste of money", "Worst product", "Terrible", "Horrible quality", "Defective piece", "Very bad", "Useless"],
        ["Disappointed", "Regret buying", "Poor quality", "Bad value", "Quite bad", "Bad build", "Unhappy"],
        ["Average", "Okay product", "It is fine", "Mixed feelings", "Could be better", "Just okay", "Average quality"],
        ["Good product", "Value for money", "Nice", "Good quality", "Worth buying", "Satisfied", "Pretty good"],
        [
            "Excellent product",
            "Loved it",
            "Best purchase ever",
            "Awesome quality",
            "Superb",
            "Highly recommended",
            "Perfect",
        ],
    ],
    dtype=object,
)
_SENTENCES = np.array(
    [
        [
            "Worst {} ever, complete waste of money.",
            "Terrible quality, it broke in two days.",
            "Defective product, totally useless.",
            "Very bad experience, do not waste your money.",
            "Stopped working after a week, horrible.",
            "Awful {}, returned it immediately.",
            "Cheap plastic and the worst finish I have seen.",
        ],
        [
            "Disappointed with the build quality.",
            "The {} stopped working properly after a month.",
            "Not worth the price, poor finish.",
            "Weak performance, I expected much more.",
            "Poor quality, feels cheap.",
            "Had problems with this {} from day one.",
            "Not happy, the quality is bad.",
        ],
        [
            "Average {}, nothing special.",
            "It works but the finish could be better.",
            "Okay for occasional use.",
            "Quality is fine but the price is a bit high.",
            "Does the job, nothing more.",
            "Some good points and some bad points.",
            "An ordinary {} for the price.",
        ],
        [
            "Good {} for the price.",
            "Works well, happy with the quality.",
            "Nice product, does what it promises.",
            "Good build quality and easy to use.",
            "Satisfied with the performance so far.",
            "Decent {}, worth the money.",
            "Pretty good overall, would recommend.",
        ],
        [
            "Absolutely love this {}!",
            "Excellent quality, works perfectly.",
            "Best {} I have ever bought.",
            "Amazing value for money, highly recommended.",
            "Superb build and great performance.",
            "Very happy with this purchase, great product.",
            "Fantastic {}, delivery was quick too.",
        ],
    ],
    dtype=object,
)
# Sentences whose comma is not followed by a space, as in real reviews; they break list alignment.
_MISALIGNING_SENTENCES = np.array(
    [
        "I paid ₹1,099 for it in the sale.",
        "Ordered on Monday,got it on Wednesday.",
        "Compared it with another one priced at ₹2,499.",
        "Used it for 2 weeks,will update later.",
    ],
    dtype=object,
)
_STAR_SHARES_BY_TASTE = np.array(
    [  # rows: favourite subcategory, favourite category, outside the taste
        [0.02, 0.03, 0.08, 0.32, 0.55],
        [0.03, 0.05, 0.12, 0.38, 0.42],
        [0.22, 0.24, 0.24, 0.18, 0.12],
    ]
)
_IN_TASTE_SHARE = 0.85
_FAVOURITE_SUBCATEGORY_SHARE = 0.4  # of all reviews
_SECOND_FAVOURITE_USERS = 0.4
_SECOND_FAVOURITE_PICK = 0.35
_ZIPF_EXPONENT = 0.9
_REVIEWS_PER_USER_SIGMA = 1.4
_MISALIGNED_PRODUCT_SHARE = 0.03
_FIRST_REVIEW_EPOCH, _LAST_REVIEW_EPOCH = 1_546_300_800, 1_672_876_800  # 2019-01-01 .. 2023-01-05
_UPPER_ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", dtype=np.uint8)
_ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
_LIST_END = "\x1e"


def generate_catalog(
    n_products: int = 200, n_users: int = 400, n_reviews: int = 3000, seed: int = 7, include_timestamps: bool = False
) -> pd.DataFrame:
    """All columns are strings, exactly as they would be in the CSV.

    One row per product with exactly ``n_reviews`` reviews by ``n_users`` users in total; with
    ``include_timestamps`` a 17th column ``timestamp`` lists epoch seconds aligned with ``user_id``.
    """
    return _draw(n_products, n_users, n_reviews, seed, include_timestamps).catalog


def planted_tastes(n_products: int = 200, n_users: int = 400, n_reviews: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Users x products (user_id index, product_id columns): the chance that a review drawn for the user is of the product.

    These are the tastes `generate_catalog` plants with the same arguments, before a user's repeated
    products are redrawn: ranking products by them is what a recommender that knew each user exactly
    would do (it knows nothing of the order of a user's reviews).
    """
    draw = _draw(n_products, n_users, n_reviews, seed)
    products, tastes = draw.products, draw.tastes
    weight = np.diff(products.cumulative_popularity, prepend=0.0)
    in_sub = products.sub[None, :] == tastes.favourite_sub[:, None]
    chance = _FAVOURITE_SUBCATEGORY_SHARE * _normalized_rows(in_sub * weight)
    has_second = tastes.second_top >= 0
    in_taste = np.zeros_like(in_sub)
    for top, pick in (
        (tastes.favourite_top, np.where(has_second, 1 - _SECOND_FAVOURITE_PICK, 1.0)),
        (tastes.second_top, np.where(has_second, _SECOND_FAVOURITE_PICK, 0.0)),
    ):
        in_top = products.top[None, :] == top[:, None]
        in_taste |= in_top
        chance += (_IN_TASTE_SHARE - _FAVOURITE_SUBCATEGORY_SHARE) * pick[:, None] * _normalized_rows(in_top * weight)
    chance += (1 - _IN_TASTE_SHARE) * _normalized_rows(~in_taste * weight)
    return pd.DataFrame(
        chance, index=pd.Index(draw.user_ids, name="user_id"), columns=pd.Index(draw.product_ids, name="product_id")
    )


def _normalized_rows(weights: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows summing to 0 stay 0)."""
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights, dtype=float), where=total > 0)


def _draw(n_products: int, n_users: int, n_reviews: int, seed: int, include_timestamps: bool = False) -> _Draw:
    """The catalog `generate_catalog` returns, with the products and tastes it was drawn from."""
    _check_sizes(n_products, n_users, n_reviews)
    rng = np.random.default_rng(seed)
    products = _products(rng, n_products)
    tastes = _user_tastes(rng, n_users, products)
    favourite_top, second_top, favourite_sub = tastes
    reviews_per_user = _reviews_per_user(rng, n_users, n_reviews, n_products)
    user, product = _review_pairs(rng, reviews_per_user, products, favourite_top, second_top, favourite_sub)
    product = _give_every_product_a_review(rng, product, products)
    in_taste = (products.top[product] == favourite_top[user]) | (products.top[product] == second_top[user])
    in_favourite_sub = products.sub[product] == favourite_sub[user]
    stars = _draw_stars(rng, np.where(in_favourite_sub, 0, np.where(in_taste, 1, 2)))
    timestamp = rng.integers(_FIRST_REVIEW_EPOCH, _LAST_REVIEW_EPOCH, size=len(product))
    order = np.lexsort((timestamp, product))
    user, product, stars, timestamp = user[order], product[order], stars[order], timestamp[order]

    titles, contents = review_texts(stars, _LEAF_NOUNS[products.leaf[product]], rng)
    last_of_product = np.r_[product[1:] != product[:-1], True]
    first_of_product = np.flatnonzero(np.r_[True, last_of_product[:-1]])
    misaligned = first_of_product[rng.random(n_products) < _MISALIGNED_PRODUCT_SHARE]
    contents[misaligned] = contents[misaligned] + " " + rng.choice(_MISALIGNING_SENTENCES, size=misaligned.size)

    user_ids = _unique_codes(rng, n_users, 27, _UPPER_ALNUM, prefix="A")
    user_names = _user_names(rng, n_users)
    review_ids = _review_ids(rng, len(product))
    catalog = _product_columns(rng, products, product, stars)
    catalog |= {
        "user_id": _join_lists(user_ids[user], last_of_product),
        "user_name": _join_lists(user_names[user], last_of_product),
        "review_id": _join_lists(review_ids, last_of_product),
        "review_title": _join_lists(titles, last_of_product),
        "review_content": _join_lists(contents, last_of_product),
    }
    columns = list(CATALOG_COLUMNS)
    if include_timestamps:
        catalog["timestamp"] = _join_lists(timestamp.astype(str).astype(object), last_of_product)
        columns.append("timestamp")
    table = pd.DataFrame({name: catalog[name] for name in columns}, dtype="str")
    return _Draw(table, products, tastes, user_ids, catalog["product_id"])


def write_catalog(catalog: pd.DataFrame, path: str | PathLike) -> None:
    """Write the catalog as amazon.csv is written: UTF-8 without BOM, minimal quoting, header, '\\n' endings."""
    catalog.to_csv(path, index=False, encoding="utf-8", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


def review_texts(
    stars: np.ndarray, product_nouns: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Titles and contents (object arrays) whose sentiment matches each 1-5 star; nouns name the product."""
    row = np.asarray(stars) - 1
    n_options = _SENTENCES.shape[1]
    sentence_parts = _template_parts(_SENTENCES)
    titles = _TITLES[row, rng.integers(0, _TITLES.shape[1], size=row.size)]
    start = rng.integers(0, n_options, size=row.size)
    step = rng.integers(1, n_options, size=row.size)  # n_options is prime, so the sentences are distinct
    n_sentences = 1 + (rng.random(row.size) < 0.5) + (rng.random(row.size) < 0.2)
    contents = _fill_noun(sentence_parts[row, start], product_nouns)
    for extra in (1, 2):
        sentence = _fill_noun(sentence_parts[row, (start + extra * step) % n_options], product_nouns)
        contents = np.where(n_sentences > extra, contents + " " + sentence, contents)
    return titles, contents


class _Tastes(NamedTuple):
    """Per user: favourite top level, second one (-1 if none) and favourite subcategory."""

    favourite_top: np.ndarray
    second_top: np.ndarray
    favourite_sub: np.ndarray


class _Draw(NamedTuple):
    catalog: pd.DataFrame
    products: _Products
    tastes: _Tastes
    user_ids: np.ndarray
    product_ids: np.ndarray


class _Products(NamedTuple):
    """Products ordered by category path, so every top level and subcategory is a contiguous range."""

    leaf: np.ndarray
    top: np.ndarray
    sub: np.ndarray
    top_bounds: np.ndarray  # (n_tops, 2) start/end positions
    sub_bounds: np.ndarray  # (n_subs, 2)
    sub_top: np.ndarray  # top of each subcategory
    cumulative_popularity: np.ndarray


def _check_sizes(n_products: int, n_users: int, n_reviews: int) -> None:
    if n_products < 1 or n_users < 1:
        raise ValueError(f"need at least one product and one user, got n_products={n_products}, n_users={n_users}")
    if n_reviews < n_users:
        raise ValueError(f"n_reviews={n_reviews} is below n_users={n_users}: every user must write a review")
    if n_reviews < n_products:
        raise ValueError(f"n_reviews={n_reviews} is below n_products={n_products}: every product needs a review")
    if n_reviews > n_users * n_products:
        raise ValueError(f"n_reviews={n_reviews} exceeds n_users * n_products: a user reviews a product at most once")


def _level_codes(depth: int) -> tuple[np.ndarray, list[str]]:
    """Code of each leaf's path prefix of ``depth`` levels, numbered in sorted order."""
    prefixes = ["|".join(leaf.path.split("|")[:depth]) for leaf in _LEAVES]
    names = sorted(set(prefixes))
    return np.array([names.index(prefix) for prefix in prefixes]), names


def _bounds(sorted_codes: np.ndarray, n_codes: int) -> np.ndarray:
    ends = np.searchsorted(sorted_codes, np.arange(n_codes), side="right")
    return np.column_stack([np.r_[0, ends[:-1]], ends])


def _products(rng: np.random.Generator, n_products: int) -> _Products:
    leaf_top, top_names = _level_codes(1)
    leaf_sub, _ = _level_codes(2)
    top_share = np.array([_TOP_LEVEL_SHARE[name] for name in top_names])
    n_tops = len(top_names)
    # the first products cover every top level once, the rest follow the shares
    top = np.r_[rng.permutation(n_tops)[:n_products], rng.choice(n_tops, size=max(n_products - n_tops, 0), p=top_share)]
    leaf_options = [np.flatnonzero(leaf_top == t) for t in range(n_tops)]
    leaf_count = np.array([len(options) for options in leaf_options])
    leaf_offset = np.r_[0, np.cumsum(leaf_count)[:-1]]
    leaf = np.sort(np.concatenate(leaf_options)[leaf_offset[top] + rng.integers(0, leaf_count[top])])
    top, sub = leaf_top[leaf], leaf_sub[leaf]
    top_bounds = _bounds(top, n_tops)
    # Zipf-like popularity over a random ranking within each top level
    ranking = np.lexsort((rng.random(n_products), top))
    rank = np.empty(n_products, dtype=np.int64)
    rank[ranking] = np.arange(n_products) - top_bounds[top[ranking], 0]
    popularity = (rank + 1.0) ** -_ZIPF_EXPONENT
    n_subs = leaf_sub.max() + 1
    sub_top = np.zeros(n_subs, dtype=np.int64)
    sub_top[leaf_sub] = leaf_top
    return _Products(leaf, top, sub, top_bounds, _bounds(sub, n_subs), sub_top, np.cumsum(popularity))


def _sample_in_ranges(rng: np.random.Generator, cumulative_weight: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """One index per (start, end) row, drawn proportionally to the weights inside that range."""
    start, end = bounds[:, 0], bounds[:, 1]
    base = np.where(start > 0, cumulative_weight[np.maximum(start - 1, 0)], 0.0)
    target = base + rng.random(len(bounds)) * (cumulative_weight[end - 1] - base)
    return np.clip(np.searchsorted(cumulative_weight, target, side="right"), start, end - 1)


def _user_tastes(rng: np.random.Generator, n_users: int, products: _Products) -> _Tastes:
    """Favourite top level, optional second one (-1 if none) and favourite subcategory of each user."""
    top_size = np.diff(products.top_bounds, axis=1).ravel()
    with np.errstate(divide="ignore"):
        scores = np.log(top_size) + rng.gumbel(size=(n_users, len(top_size)))  # Gumbel-max: weighted, no repeats
    favourite = scores.argmax(axis=1)
    scores[np.arange(n_users), favourite] = -np.inf
    second = scores.argmax(axis=1)
    has_second = np.isfinite(scores[np.arange(n_users), second]) & (rng.random(n_users) < _SECOND_FAVOURITE_USERS)
    sub_size = np.diff(products.sub_bounds, axis=1).ravel()
    subs_of_favourite = _bounds(products.sub_top, len(top_size))[favourite]
    favourite_sub = _sample_in_ranges(rng, np.cumsum(sub_size).astype(float), subs_of_favourite)
    return _Tastes(favourite, np.where(has_second, second, -1), favourite_sub)


def _reviews_per_user(rng: np.random.Generator, n_users: int, n_reviews: int, n_products: int) -> np.ndarray:
    """Heavy-tailed counts, each >= 1 and capped well below the catalog size, summing to n_reviews."""
    cap = min(n_products, max(2 * -(-n_reviews // n_users), n_products // 4))
    appetite = rng.lognormal(0.0, _REVIEWS_PER_USER_SIGMA, size=n_users)
    counts = np.ones(n_users, dtype=np.int64)
    while (missing := n_reviews - counts.sum()) > 0:
        weight = np.where(counts < cap, appetite, 0.0)
        counts = np.minimum(counts + rng.multinomial(missing, weight / weight.sum()), cap)
    return counts


def _draw_in_taste_or_not(
    rng: np.random.Generator,
    user: np.ndarray,
    products: _Products,
    favourite_top: np.ndarray,
    second_top: np.ndarray,
    favourite_sub: np.ndarray,
) -> np.ndarray:
    """A product for each user: from the favourite subcategory or categories, else from the rest of the catalog."""
    kind = rng.random(len(user))
    use_second = (second_top[user] >= 0) & (rng.random(len(user)) < _SECOND_FAVOURITE_PICK)
    chosen_top = np.where(use_second, second_top[user], favourite_top[user])
    bounds = np.where(
        (kind < _FAVOURITE_SUBCATEGORY_SHARE)[:, None],
        products.sub_bounds[favourite_sub[user]],
        products.top_bounds[chosen_top],
    )
    product = _sample_in_ranges(rng, products.cumulative_popularity, bounds)
    outside = np.flatnonzero(kind >= _IN_TASTE_SHARE)
    for _ in range(4):  # rejection sampling: popular products outside the user's favourite categories
        whole_catalog = np.tile([0, len(products.top)], (len(outside), 1))
        product[outside] = _sample_in_ranges(rng, products.cumulative_popularity, whole_catalog)
        top = products.top[product[outside]]
        outside = outside[(top == favourite_top[user[outside]]) | (top == second_top[user[outside]])]
    return product


def _review_pairs(
    rng: np.random.Generator,
    reviews_per_user: np.ndarray,
    products: _Products,
    favourite_top: np.ndarray,
    second_top: np.ndarray,
    favourite_sub: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user, product) pairs, reviews_per_user[u] of them for user u."""
    n_products = len(products.top)
    user = np.empty(0, dtype=np.int64)
    product = np.empty(0, dtype=np.int64)
    for attempt in range(20):
        missing = reviews_per_user - np.bincount(user, minlength=len(reviews_per_user))
        if not missing.any():
            return user, product
        new_user = np.repeat(np.arange(len(reviews_per_user)), missing)
        if attempt < 6:
            new_product = _draw_in_taste_or_not(rng, new_user, products, favourite_top, second_top, favourite_sub)
        else:  # users whose taste is exhausted fill up uniformly
            new_product = rng.integers(0, n_products, size=len(new_user))
        user, product = _drop_repeated_pairs(np.r_[user, new_user], np.r_[product, new_product], n_products)
    missing = reviews_per_user - np.bincount(user, minlength=len(reviews_per_user))
    needy = np.flatnonzero(missing)  # a handful of users asking for most of a tiny catalog: enumerate
    candidate_user = np.repeat(needy, n_products)
    candidate_product = np.tile(np.arange(n_products), len(needy))
    seen = np.isin(candidate_user * n_products + candidate_product, user * n_products + product)
    candidate_user, candidate_product = candidate_user[~seen], candidate_product[~seen]
    shuffled = np.lexsort((rng.random(len(candidate_user)), candidate_user))
    candidate_user, candidate_product = candidate_user[shuffled], candidate_product[shuffled]
    keep = _rank_within_sorted_groups(candidate_user) < missing[candidate_user]
    return np.r_[user, candidate_user[keep]], np.r_[product, candidate_product[keep]]


def _drop_repeated_pairs(user: np.ndarray, product: np.ndarray, n_products: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first occurrence of each (user, product) pair, in the original order."""
    _, first = np.unique(user * n_products + product, return_index=True)
    first.sort()
    return user[first], product[first]


def _rank_within_sorted_groups(sorted_codes: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... inside each run of equal codes."""
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    return np.arange(len(sorted_codes)) - np.repeat(starts, np.diff(np.r_[starts, len(sorted_codes)]))


def _give_every_product_a_review(rng: np.random.Generator, product: np.ndarray, products: _Products) -> np.ndarray:
    """Move spare reviews (not a product's only one) to unreviewed products, preferring the same top level."""
    unreviewed = np.flatnonzero(np.bincount(product, minlength=len(products.top)) == 0)
    if not len(unreviewed):
        return product
    by_product = np.lexsort((rng.random(len(product)), product))
    spare = by_product[_rank_within_sorted_groups(product[by_product]) >= 1]
    spare = spare[np.lexsort((rng.random(len(spare)), products.top[product[spare]]))]
    spare_rank = _rank_within_sorted_groups(products.top[product[spare]])
    unreviewed_rank = _rank_within_sorted_groups(products.top[unreviewed])  # unreviewed is sorted by top
    n_tops = len(products.top_bounds)
    spares_per_top = np.bincount(products.top[product[spare]], minlength=n_tops)
    unreviewed_per_top = np.bincount(products.top[unreviewed], minlength=n_tops)
    same_top_spare = spare_rank < unreviewed_per_top[products.top[product[spare]]]
    same_top_target = unreviewed_rank < spares_per_top[products.top[unreviewed]]
    moved = product.copy()
    moved[spare[same_top_spare]] = unreviewed[same_top_target]
    leftover_target = unreviewed[~same_top_target]
    moved[rng.permutation(spare[~same_top_spare])[: len(leftover_target)]] = leftover_target
    return moved


def _draw_stars(rng: np.random.Generator, taste_tier: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(_STAR_SHARES_BY_TASTE, axis=1)[taste_tier]
    return 1 + (rng.random(len(taste_tier))[:, None] >= cumulative[:, :-1]).sum(axis=1)


def _template_parts(templates: np.ndarray) -> np.ndarray:
    """(..., 3) array of (text before "{}", "{}" or "", text after) for each template."""
    return np.array([template.partition("{}") for template in templates.ravel().tolist()], dtype=object).reshape(
        *templates.shape, 3
    )


def _fill_noun(parts: np.ndarray, nouns: np.ndarray) -> np.ndarray:
    """Templates given as _template_parts rows, with the noun put where "{}" was."""
    return parts[:, 0] + np.where(parts[:, 1] == "{}", nouns, "") + parts[:, 2]


def _random_codes(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray) -> np.ndarray:
    letters = alphabet[rng.integers(0, len(alphabet), size=(n, length))]
    return letters.view(f"S{length}").ravel()


def _unique_codes(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray, prefix: str) -> np.ndarray:
    """n distinct random codes (object array of str) in draw order."""
    codes = np.empty(0, dtype=f"S{length}")
    while len(codes) < n:
        codes = np.r_[codes, _random_codes(rng, n - len(codes), length, alphabet)]
        _, first = np.unique(codes, return_index=True)
        codes = codes[np.sort(first)]
    return np.char.add(prefix, codes.astype(str)).astype(object)


def _review_ids(rng: np.random.Generator, n_reviews: int) -> np.ndarray:
    """'R' + 12 or 13 upper alphanumerics, like the real ids; two lengths never collide."""
    is_long = rng.random(n_reviews) < 0.75
    ids = np.empty(n_reviews, dtype=object)
    ids[is_long] = _unique_codes(rng, int(is_long.sum()), 13, _UPPER_ALNUM, prefix="R")
    ids[~is_long] = _unique_codes(rng, int((~is_long).sum()), 12, _UPPER_ALNUM, prefix="R")
    return ids


def _user_names(rng: np.random.Generator, n_users: int) -> np.ndarray:
    first = rng.choice(_FIRST_NAMES, size=n_users)
    last = rng.choice(_LAST_NAMES, size=n_users)
    style = rng.random(n_users)
    return np.select(
        [style < 0.45, style < 0.75, style < 0.85],
        [first + " " + last, first, np.full(n_users, "Amazon Customer", dtype=object)],
        first + " " + last.astype(str).astype("<U1").astype(object) + ".",
    )


def _join_lists(values: np.ndarray, last_of_product: np.ndarray) -> np.ndarray:
    """Comma-join consecutive values per product (rows sorted by product) in one pass."""
    pieces = np.empty(2 * len(values), dtype=object)
    pieces[0::2] = values
    pieces[1::2] = np.where(last_of_product, _LIST_END, ",")
    return np.array("".join(pieces).split(_LIST_END)[:-1], dtype=object)


def _indian_grouping(numbers: np.ndarray) -> np.ndarray:
    """'1,39,900' style digit grouping (last three digits, then pairs), as amazon.csv writes prices."""
    numbers = np.asarray(numbers, dtype=np.int64)
    text = np.where(numbers >= 1000, np.char.zfill((numbers % 1000).astype(str), 3), (numbers % 1000).astype(str))
    rest = numbers // 1000
    while (rest > 0).any():
        pair = (rest % 100).astype(str)
        rest_after = rest // 100
        pair = np.where(rest_after > 0, np.char.zfill(pair, 2), pair)
        text = np.where(rest > 0, np.char.add(np.char.add(pair, ","), text), text)
        rest = rest_after
    return text.astype(object)


def _round_price(price: np.ndarray) -> np.ndarray:
    """Shop-style prices ending in 9: 399, 1,099, 12,499."""
    step = np.where(price < 1000, 10, 100)
    return np.maximum(np.round(price / step) * step - 1, 9).astype(np.int64)


def _slug(texts: np.ndarray) -> np.ndarray:
    """URL path words as amazon.in writes them: spaces become dashes."""
    return np.char.replace(texts.astype(str), " ", "-").astype(object)


def _pick_per_leaf(rng: np.random.Generator, options_per_leaf: list[tuple[str, ...]], leaf: np.ndarray) -> np.ndarray:
    """For each product, the position of a random option of its leaf in the flattened option list."""
    count = np.array([len(options) for options in options_per_leaf])
    offset = np.r_[0, np.cumsum(count)[:-1]]
    return offset[leaf] + rng.integers(0, count[leaf])


def _about_product(rng: np.random.Generator, nouns: np.ndarray) -> np.ndarray:
    """3-6 distinct feature bullets per product, joined with '|'."""
    n_products, n_templates = len(nouns), len(_ABOUT_TEMPLATES)
    chosen = np.argsort(rng.random((n_products, n_templates)), axis=1)
    n_bullets = rng.integers(3, 7, size=n_products)
    parts = _template_parts(_ABOUT_TEMPLATES)
    about = _fill_noun(parts[chosen[:, 0]], nouns)
    for bullet in range(1, 6):
        about = np.where(n_bullets > bullet, about + "|" + _fill_noun(parts[chosen[:, bullet]], nouns), about)
    return about


def _product_columns(
    rng: np.random.Generator, products: _Products, product: np.ndarray, stars: np.ndarray
) -> dict[str, np.ndarray]:
    """Every product-level column; ``product`` and ``stars`` describe each review."""
    n_products = len(products.leaf)
    leaf = products.leaf
    product_ids = _unique_codes(rng, n_products, 8, _UPPER_ALNUM, prefix="B0")
    name_options = [leaf_.names for leaf_ in _LEAVES]
    name_pick = _pick_per_leaf(rng, name_options, leaf)
    names = np.array([name for options in name_options for name in options], dtype=object)[name_pick]
    specs = np.array([spec for leaf_ in _LEAVES for spec in leaf_.specs], dtype=object)[
        _pick_per_leaf(rng, [leaf_.specs for leaf_ in _LEAVES], leaf)
    ]
    brands = rng.choice(_BRANDS, size=n_products)
    colours = rng.choice(_COLOURS, size=n_products)

    low, high = np.array([leaf_.price_range for leaf_ in _LEAVES], dtype=float)[leaf].T
    actual = _round_price(np.exp(rng.uniform(np.log(low), np.log(high))))
    discount = np.where(rng.random(n_products) < 0.1, 0.0, 0.9 * rng.beta(2.2, 2.2, size=n_products))
    discounted = np.minimum(_round_price(actual * (1 - discount)), actual)
    percentage = np.floor((1 - discounted / actual) * 100 + 0.5).astype(np.int64)

    n_listed = np.bincount(product, minlength=n_products)
    tenths = np.floor(np.bincount(product, weights=stars, minlength=n_products) / n_listed * 10 + 0.5).astype(np.int64)
    rating_count = np.ceil(n_listed * (1 + rng.lognormal(np.log(150), 1.2, size=n_products))).astype(np.int64)

    image_codes = (
        rng.choice(np.array(list("345678"), dtype=object), size=n_products)
        + "1"
        + _random_codes(rng, n_products, 8, _ALNUM).astype(str).astype(object)
        + "L"
    )
    webp_prefix = np.where(rng.random(n_products) < 0.3, "W/WEBP_402378-T1/images/", "").astype(object)
    image_suffix = rng.choice(
        np.array(
            [
                "._SX300_SY300_QL70_FMwebp_.jpg",
                "._SY300_SX300_.jpg",
                "._SX342_SY445_.jpg",
                "._SY445_SX342_QL70_FMwebp_.jpg",
            ],
            dtype=object,
        ),
        size=n_products,
    )
    _, top_names = _level_codes(1)
    store = np.array([_STORE_SLUG[name] for name in top_names], dtype=object)[products.top]
    store_rank = (np.arange(n_products) - products.top_bounds[products.top, 0] + 1).astype(str).astype(object)
    query_id = rng.integers(1_672_900_000, 1_672_930_000, size=n_products).astype(str).astype(object)
    return {
        "product_id": product_ids,
        "product_name": brands + " " + names + " " + specs + " (" + colours + ")",
        "category": _LEAF_PATHS[leaf],
        "discounted_price": "₹" + _indian_grouping(discounted),
        "actual_price": "₹" + _indian_grouping(actual),
        "discount_percentage": percentage.astype(str).astype(object) + "%",
        "rating": (tenths // 10).astype(str).astype(object) + "." + (tenths % 10).astype(str).astype(object),
        "rating_count": _indian_grouping(rating_count),
        "about_product": _about_product(rng, _LEAF_NOUNS[leaf]),
        "img_link": "https://m.media-amazon.com/images/" + webp_prefix + "I/" + image_codes + image_suffix,
        "product_link": "https://www.amazon.in/"
        + _slug(brands)
        + "-"
        + _slug(names)
        + "/dp/"
        + product_ids
        + "/ref=sr_1_"
        + store_rank
        + "?qid="
        + query_id
        + "&s="
        + store
        + "&sr=1-"
        + store_rank,
    }
