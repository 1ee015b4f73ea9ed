import numpy as np
import pytest

from recsys_assets.ml.sequence import newer_counts, newest_share, recency_weights, transitions


def test_newer_counts_count_strictly_later_items_of_the_same_user():
    user = np.array([0, 1, 0, 0, 1, 0])
    timestamp = np.array([10, 5, 30, 20, 7, 30])
    # user 0: 30, 30 (newest, tied), 20 (two newer), 10 (three newer); user 1: 7 newest, 5 one newer
    assert newer_counts(user, timestamp).tolist() == [3, 1, 0, 2, 0, 0]


def test_newer_counts_of_nothing_is_nothing():
    assert newer_counts(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)).tolist() == []


def test_recency_weights_halve_every_half_life_above_the_floor():
    weights = recency_weights(np.array([0, 2, 4, 1000]), half_life=2.0, floor=0.2)
    np.testing.assert_allclose(weights, [1.0, 0.6, 0.4, 0.2], atol=1e-6)
    assert recency_weights(np.array([0, 7]), half_life=None, floor=0.2).tolist() == [1.0, 1.0]


def test_transitions_go_forward_in_time_weighted_by_gap_and_popularity():
    # user 0 likes items 0 -> 1 -> 2 in time (rows shuffled); user 1 likes 2 then 0
    user = np.array([0, 0, 0, 1, 1])
    item = np.array([2, 0, 1, 0, 2])
    timestamp = np.array([3, 1, 2, 9, 8])
    weights = transitions(user, item, timestamp, n_items=4, window=2).toarray()
    likes = np.array([2, 1, 2, 1])
    expected = np.zeros((4, 4))
    expected[0, 1] = 1
    expected[1, 2] = 1
    expected[0, 2] = 2**-0.5
    expected[2, 0] = 1
    expected /= np.sqrt(np.outer(np.maximum(likes, 1), np.maximum(likes, 1)))
    np.testing.assert_allclose(weights, expected, rtol=1e-6)


def test_likes_with_the_same_timestamp_make_no_transition_whatever_their_item_order():
    # a day's three reviews, then one the next day: only the pairs into the later review count
    user = np.zeros(4, dtype=np.int64)
    item = np.array([3, 0, 2, 1])
    timestamp = np.array([5, 5, 5, 6])
    weights = transitions(user, item, timestamp, n_items=4, window=3).toarray()
    assert sorted(zip(*np.nonzero(weights))) == [(0, 1), (2, 1), (3, 1)]


@pytest.mark.parametrize("window", [1, 3])
def test_transitions_stop_at_the_window(window):
    user = np.zeros(5, dtype=np.int64)
    item = np.arange(5)
    weights = transitions(user, item, item, n_items=5, window=window).toarray()
    gaps = np.subtract.outer(np.arange(5), np.arange(5)) * -1
    assert ((weights > 0) == ((gaps >= 1) & (gaps <= window))).all()


def test_newest_share_holds_at_least_one_and_never_all_of_a_users_entries():
    user = np.array([0] * 25 + [1, 1] + [2])
    timestamp = np.r_[np.arange(25)[::-1], 5, 5, 9]
    tiebreak = np.r_[np.zeros(25), 0, 1, 0]
    mask = newest_share(user, timestamp, tiebreak, 0.1)
    assert np.flatnonzero(mask[:25]).tolist() == [0, 1]  # the two newest of 25 (floor of 2.5)
    assert mask[25:].tolist() == [False, True, False]  # the tie goes to the larger tiebreak; one entry stays out
