"""JSON on the hot path keeps every value Python's json keeps."""

from mock_server import codec


def test_integers_beyond_64_bits_survive_a_round_trip():
    value = {"big": 53086534263294040000000000000, "neg": -22836401967173132000, "text": "12345678901234567890"}
    assert codec.loads(codec.dumps(value)) == value
    assert isinstance(codec.loads(codec.text(value))["big"], int)


def test_lone_surrogates_and_ordinary_values_round_trip():
    value = {"s": "\udc80", "f": 1.5, "n": None, "list": [1, "a", True]}
    assert codec.loads(codec.dumps(value)) == value
