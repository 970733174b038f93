"""The P5 generator reproduces the TS anchor's vectors bit for bit (test vectors from its README)."""

from elizapy.bench.vectors import checksum, draws, query_seed, vectors


def test_draws_match_the_spec():
    assert [hex(x) for x in draws(1, 0, 4).tolist()] == [
        "0x96a0f96b",
        "0x12bc8390",
        "0x971e9964",
        "0x79adc7e7",
    ]


def test_vectors_match_bit_patterns():
    v = vectors(1, 2)
    assert [hex(x) for x in v[0, :4].view("uint32").tolist()] == [
        "0x3c791869",
        "0xbd96586e",
        "0x3c7e7f47",
        "0xbb8b2b10",
    ]
    q = vectors(query_seed(1), 1)
    assert [hex(x) for x in q[0, :4].view("uint32").tolist()] == [
        "0x3d7f303d",
        "0x3cb27f5e",
        "0x3d0d670f",
        "0xbd0bf48c",
    ]


def test_checksum_of_first_thousand():
    assert checksum(vectors(1, 1000)) == 0x421021A1
