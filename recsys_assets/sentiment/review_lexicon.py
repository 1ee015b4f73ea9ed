"""Product-review words and phrases that VADER's lexicon lacks or misreads, valences on VADER's -4..+4 scale.

How they were written, and why star-count phrases are absent: docs/sentiment.md.
"""

# Single words missing from VADER's lexicon, or (marked) re-weighted for reviews.
REVIEW_WORDS: dict[str, float] = {
    # defects and breakage
    "cheaply": -1.5,
    "cracked": -1.3,
    "defect": -1.8,
    "defects": -1.8,
    "dud": -2.0,
    "flimsy": -1.8,
    "malfunction": -2.0,
    "malfunctioned": -2.0,
    "unreliable": -1.8,
    "unusable": -2.3,
    "leaking": -1.3,
    "leaks": -1.3,
    "ripped": -1.2,
    "tore": -1.2,
    # returns, refunds, value
    "counterfeit": -2.0,
    "knockoff": -1.8,
    "misleading": -1.8,
    "overpriced": -1.8,
    "refund": -1.5,
    "refunded": -1.5,
    "returned": -1.2,
    "returning": -1.2,
    "ripoff": -2.5,
    "rip-off": -2.5,
    "garbage": -2.5,
    "junk": -2.5,
    "trash": -2.0,
    "mediocre": -1.3,
    "worth": 1.5,  # VADER: 0.9; "worth it" is a verdict in reviews, and "not worth" negates it
    # bodily reactions and unpleasant textures
    "breakout": -1.5,
    "breakouts": -1.5,
    "burned": -1.5,
    "burning": -1.3,
    "clumpy": -1.2,
    "greasy": -1.2,
    "headache": -1.5,
    "headaches": -1.5,
    "itching": -1.2,
    "smelly": -1.5,
    "sticky": -0.8,
    "streaky": -1.2,
    # it works, it lasts, it is good to use
    "works": 1.0,
    "worked": 1.0,
    "working": 0.8,
    "decent": 0.9,
    "durable": 1.5,
    "reliable": 1.5,
    "sturdy": 1.5,
    "moisturizing": 1.2,
    "smooth": 1.2,
    "soft": 1.0,
    "repurchase": 1.8,
    "reorder": 1.5,
}

# Multi-word expressions, matched on VADER's lower-cased tokens, longest first. A phrase's valence replaces
# the valences of its words; it is negated (x -0.74, VADER's N_SCALAR) when one of the three tokens before it
# is a negation, unless the phrase itself starts with one ("no complaints").
REVIEW_PHRASES: dict[str, float] = {
    # it failed
    "stopped working": -2.5,
    "quit working": -2.5,
    "stops working": -2.5,
    "fell apart": -2.5,
    "falls apart": -2.5,
    "gave out": -1.8,
    "not work": -1.5,
    "doesn't work": -1.5,
    "didn't work": -1.5,
    "won't work": -1.5,
    # it went back
    "sent it back": -1.5,
    "send it back": -1.5,
    "sending it back": -1.5,
    "money back": -1.5,
    # warnings, which VADER's negation would turn positive ("don't waste" -> positive)
    "waste of money": -2.5,
    "waste your money": -2.5,
    "don't waste": -2.5,
    "do not waste": -2.5,
    "don't buy": -2.5,
    "do not buy": -2.5,
    "save your money": -2.0,
    # no problems at all
    "no complaints": 2.0,
    "no problems": 1.5,
    "no issues": 1.5,
    "never disappoints": 2.5,
    "can't complain": 1.5,
    "cannot complain": 1.5,
    # it is what it claims, I would buy it again
    "as described": 1.0,
    "as advertised": 1.0,
    "as expected": 0.8,
    "does the job": 1.5,
    "does the trick": 1.5,
    "buy again": 1.8,
    "buy it again": 1.8,
    "order again": 1.8,
    "purchase again": 1.8,
}
