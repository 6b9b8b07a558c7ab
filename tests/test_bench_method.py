"""How the benchmarks compare two sides (in `make test`: no server, no speed judged)."""

from bench.report import in_turn, median_round


def test_side_by_side_runs_take_turns_going_first_and_answer_in_the_order_given():
    calls = []

    def side(name):
        return lambda: calls.append(name) or name.upper()

    answers = [in_turn(round_, [side("base"), side("mine")]) for round_ in range(4)]
    assert answers == [("BASE", "MINE")] * 4
    assert calls == ["base", "mine", "mine", "base", "base", "mine", "mine", "base"]


def test_the_median_round_is_reported_whole():
    pairs = [(10, 5), (9, 10), (12, 10), (3, 3), (1, 2)]
    assert median_round(pairs, lambda pair: pair[0] / pair[1]) == (3, 3)
