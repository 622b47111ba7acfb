"""The dashboard's statistics on small tables whose answers can be worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from budget_sim.insights import dashboard
from budget_sim.model import Option, Question

LINES = pl.DataFrame(
    {
        "id": ["parks", "police", "tax"],
        "department": ["Parks", "Police", "Taxes"],
        "program": ["Parks", "Police", "Property"],
        "kind": ["expense", "expense", "revenue"],
        "amount": [100_00, 300_00, 400_00],
        "locked": [False, False, False],
    }
)
WARD = Question(
    "ward",
    "Ward",
    kind="district",
    options=(Option("w1", "Ward 1", 1000.0), Option("w2", "Ward 2", 3000.0)),
)


def table(rows: list[tuple[int, int, int, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "receipt": [f"r{i}" for i in range(len(rows))],
            "submitted_at": [datetime(2026, 11, 1 + i % 2, tzinfo=UTC) for i in range(len(rows))],
            "parks": [r[0] for r in rows],
            "police": [r[1] for r in rows],
            "tax": [r[2] for r in rows],
            "answer.ward": [r[3] for r in rows],
        }
    )


def test_kish_effective_sample_size():
    assert dashboard.kish_n_eff(pl.Series([1.0, 1.0, 1.0, 1.0])) == 4
    assert dashboard.kish_n_eff(pl.Series([3.0, 1.0])) == pytest.approx(16 / 10)


def test_post_stratification_matches_population_shares():
    # Ward 1 has a quarter of the people but three quarters of the answers.
    frame = table([(100_00, 300_00, 400_00, "w1")] * 3 + [(100_00, 300_00, 400_00, "w2")])
    weights = dashboard.district_weights(frame, WARD)
    assert weights.values.to_list() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 3.0])
    ward1 = weights.values.head(3).sum() / weights.values.sum()
    assert ward1 == pytest.approx(0.25)
    assert weights.n_eff == pytest.approx(4**2 / (3 * (1 / 9) + 9))


def test_unknown_populations_give_no_weights():
    blind = Question("n", "Neighbourhood", kind="district", options=(Option("a", "A"),))
    frame = table([(1, 1, 2, None)]).rename({"answer.ward": "answer.n"})
    assert dashboard.district_weights(frame, blind) is None


def test_line_table_means_shares_and_wilson_interval():
    frame = table(
        [
            (110_00, 300_00, 400_00, None),
            (90_00, 300_00, 400_00, None),
            (100_00, 330_00, 410_00, None),
            (120_00, 300_00, 400_00, None),
        ]
    )
    result = {r["line_id"]: r for r in dashboard.line_table(frame, LINES).iter_rows(named=True)}
    parks = result["parks"]
    assert parks["mean"] == 105_00 and parks["median"] == 105_00
    assert (parks["raised"], parks["cut"], parks["kept"]) == (0.5, 0.25, 0.25)
    assert parks["net_support"] == 0.25
    # Wilson 95% interval for 2 of 4: (0.150, 0.850) to three decimals.
    assert (round(parks["raised_low"], 3), round(parks["raised_high"], 3)) == (0.15, 0.85)
    assert parks["mean_low"] < 105_00 < parks["mean_high"]
    assert result["police"]["raised"] == 0.25


def test_whole_budget_adds_up_to_the_city_spending_and_keeps_unanimity():
    frame = table([(100_00, 300_00, 400_00, None)] * 5)
    whole = dashboard.whole_budget(frame, LINES)
    for method in dashboard.WHOLE_BUDGET_METHODS:
        assert whole[method].sum() == pytest.approx(400_00)
        assert whole[method].to_list() == pytest.approx([100_00, 300_00])  # all agree: theirs


def test_independent_markets_is_proportional_for_single_minded_residents():
    frame = table([(400_00, 0, 400_00, None)] * 3 + [(0, 400_00, 400_00, None)])
    whole = dashboard.whole_budget(frame, LINES)
    assert whole["independent_markets"].to_list() == pytest.approx([300_00, 100_00])


def test_whole_budget_leaves_out_submissions_that_never_saw_a_line():
    # The first two submissions predate the police line (null): they spent all on parks. Counted
    # as "nothing on police" they would pull every method towards parks; they are left out of
    # the whole-budget figures instead (the headline intervals too), not counted as $0.
    rows = [(400_00, None, 400_00, None)] * 2 + [(100_00, 300_00, 400_00, None)] * 2
    frame = table(rows)
    assert dashboard.whole_budget_rows(frame, LINES).to_list() == [False, False, True, True]
    whole = dashboard.whole_budget(frame, LINES)
    assert whole.equals(dashboard.whole_budget(frame.tail(2), LINES))
    assert whole["mean"].to_list() == [100_00, 300_00]
    assert whole["median"].to_list() == [100_00, 300_00]
    for method in dashboard.WHOLE_BUDGET_METHODS:
        assert whole[method].sum() == 400_00
    interval = dashboard.bootstrap_interval(frame, LINES, resamples=5, seed=1)
    assert interval.bounds.height == 2 and interval.rows == 2


def test_per_day_and_participation_by_district():
    frame = table([(1, 1, 1, "w1"), (1, 1, 1, "w2"), (1, 1, 1, None)])
    days = dashboard.per_day(frame)
    assert days["submissions"].to_list() == [2, 1] and days["total"].to_list() == [2, 3]
    wards = {r["option"]: r for r in dashboard.by_district(frame, WARD).iter_rows(named=True)}
    assert wards["w1"]["share"] == 0.5 and wards["w2"]["population_share"] == 0.75
    assert wards["w1"]["per_10k_residents"] == 10


def test_bootstrap_interval_brackets_the_estimate():
    rows = [
        (200_00, 200_00, 400_00, None),
        (100_00, 300_00, 400_00, None),
        (50_00, 350_00, 400_00, None),
    ]
    frame = table(rows * 5)
    interval = dashboard.bootstrap_interval(frame, LINES, resamples=40, seed=1)
    assert interval.method == "bootstrap" and "40 bootstrap resamples" in interval.note
    estimate = dashboard.whole_budget(frame, LINES)["independent_markets"].to_list()
    for (low, high), value in zip(
        interval.bounds.select("low", "high").iter_rows(), estimate, strict=True
    ):
        assert low <= value + 1e-6 and value - 1e-6 <= high
    assert interval.bounds["low"][0] < interval.bounds["high"][0]  # opinion differs: not a point


def test_bootstrap_stops_when_asked():
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3

    frame = table([(200_00, 200_00, 400_00, None), (100_00, 300_00, 400_00, None)] * 5)
    with pytest.raises(dashboard.Stopped):
        dashboard.bootstrap_interval(frame, LINES, resamples=200, should_stop=stop)
    assert len(asked) == 4  # three draws made, none after the answer changed


def test_subsampling_interval_for_many_residents_narrows_as_they_grow():
    """Above max_rows residents, subsets stand in for resamples; four times the residents
    (with the same spread of opinion) give intervals about half as wide."""
    rows = [(200_00, 200_00, 400_00, None), (100_00, 300_00, 400_00, None)]
    rows += [(50_00, 350_00, 400_00, None), (300_00, 100_00, 400_00, None)]
    widths = []
    for copies in (25, 100):
        frame = table(rows * copies)
        interval = dashboard.bootstrap_interval(frame, LINES, resamples=60, seed=3, max_rows=40)
        assert interval.method == "subsampling" and interval.rows == 40
        estimate = dashboard.whole_budget(frame, LINES)["independent_markets"].to_list()
        bounds = interval.bounds.select("low", "high").rows()
        pairs = zip(bounds, estimate, strict=True)
        assert all(lo - 1e-6 <= v <= hi + 1e-6 for (lo, hi), v in pairs)
        widths.append(bounds[0][1] - bounds[0][0])
    assert 0.3 < widths[1] / widths[0] < 0.7


@pytest.mark.parametrize("method", ["mean", "independent_markets"])
def test_many_residents_get_a_bounded_number_of_subsamples_for_any_method(method):
    """Above BOOTSTRAP_ROWS residents the work per interval is capped (SUBSAMPLE_DRAWS subsets
    of BOOTSTRAP_ROWS), whatever the method and however many residents, and the note says so."""
    rows = [(200_00, 200_00, 400_00, None), (100_00, 300_00, 400_00, None)]
    frame = table(rows * (dashboard.BOOTSTRAP_ROWS // 2 + 100))
    interval = dashboard.bootstrap_interval(frame, LINES, method=method, resamples=500)
    assert interval.method == "subsampling" and interval.resamples == dashboard.SUBSAMPLE_DRAWS
    assert interval.rows == dashboard.BOOTSTRAP_ROWS
    assert f"{dashboard.SUBSAMPLE_DRAWS} random subsets of 1,000 residents" in interval.note
    estimate = dashboard.whole_budget(frame, LINES)[method].to_list()
    bounds = interval.bounds.select("low", "high").rows()
    assert all(lo - 1e-6 <= v <= hi + 1e-6 for (lo, hi), v in zip(bounds, estimate, strict=True))


def test_comments_search_and_filter():
    frame = table([(1, 1, 1, None), (1, 1, 1, None)]).with_columns(
        pl.Series("comment", ["More parks please", None]),
        pl.Series("comment.parks", [None, "Parks are fine"]),
    )
    everything = dashboard.comments(frame, LINES)
    assert everything.height == 2
    assert dashboard.comments(frame, LINES, search="PLEASE")["text"].to_list() == [
        "More parks please"
    ]
    assert dashboard.comments(frame, LINES, line="parks")["program"].to_list() == ["Parks: Parks"]
    assert dashboard.comments(frame, LINES, line="overall")["program"].to_list() == ["Whole budget"]


def test_a_line_added_by_a_revision_is_judged_by_those_who_saw_it():
    """Residents who submitted before a line existed have no amount for it: they are left out
    of its mean and shares, not counted as giving it nothing."""
    frame = table([(100_00, 300_00, 400_00, None)] * 2 + [(200_00, 200_00, 400_00, None)] * 2)
    frame = frame.with_columns(  # the first two submitted before parks existed
        pl.when(pl.int_range(pl.len()) < 2).then(None).otherwise(pl.col("parks")).alias("parks")
    )
    rows = {r["line_id"]: r for r in dashboard.line_table(frame, LINES).iter_rows(named=True)}
    parks, police = rows["parks"], rows["police"]
    assert parks["mean"] == 200_00 and parks["raised"] == 1.0 and parks["cut"] == 0
    assert police["mean"] == 250_00 and police["cut"] == 0.5  # every resident had police
