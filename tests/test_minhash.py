"""MinHash signatures: the shingle hash definition, datasketch equality, estimates, edge cases."""
from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pytest
import xxhash
from datasketch import MinHash

from pipeline.dedup import is_short, minhash_signatures
from pipeline.dedup import minhash as mh
from pipeline.dedup.shingles import jaccard, shingle_set, tokens

SCHEMES = mh.SCHEMES
U64 = (1 << 64) - 1

# Texts whose tokens are easy to get wrong: case, Unicode that lowers to ASCII (U+0130,
# U+212A), other non-ASCII letters, a lone surrogate, digits, underscores, CRLF, tabs.
EDGE_TEXTS = [
    "",
    "   \n\t ",
    "a b c d",
    "a b c d e",
    "Hello, World! def foo_bar(x1, y2):\r\n\treturn x1+y2  # done",
    "\u0130stanbul \u212aelvin caf\u00e9 na\u00efve stra\u00dfe \u00c9cole x y z",
    "emoji \U0001F600 between words and \ud800 a lone surrogate here too",
    "__init__ __main__ 123 4_5 6.7 snake_case CamelCase ALLCAPS",
]


def words_text(rng: random.Random, lines: int, vocabulary: int = 2000) -> list[str]:
    """Lines of 8 random words from a fixed vocabulary (a code-like text, seeded)."""
    return [" ".join(f"w{rng.randrange(vocabulary)}" for _ in range(8)) for _ in range(lines)]


def reference_base_hash(words: list[str]) -> int:
    """The base hash as the module docstring defines it, in plain Python integers."""
    x = xxhash.xxh3_64_intdigest(words[0].encode())
    for word in words[1:]:
        x = (x * 0x9E3779B97F4A7C15 + xxhash.xxh3_64_intdigest(word.encode())) & U64
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & U64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & U64
    x ^= x >> 33
    return x >> 32


def datasketch_signature(base_hashes: np.ndarray, scheme: str, num_perm: int = 256,
                         seed: int = 42) -> np.ndarray:
    """datasketch 2.0's MinHash of the given base hashes (identity hash function)."""
    minhash = MinHash(num_perm=num_perm, seed=seed, scheme=scheme, hashfunc=int)
    minhash.update_batch([int(h) for h in base_hashes])
    return minhash.digest()


def estimate(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a == b))


def test_shape_dtype_and_empty_input():
    texts = ["one two three four five six", "seven eight nine ten eleven"]
    for scheme in SCHEMES:
        signatures = minhash_signatures(texts, num_perm=64, scheme=scheme)
        assert signatures.shape == (2, 64) and signatures.dtype == np.uint32
        assert minhash_signatures([], scheme=scheme).shape == (0, 256)
    assert is_short([]).shape == (0,)


def test_base_hashes_follow_the_documented_definition():
    rng = random.Random(3)
    texts = EDGE_TEXTS + ["\n".join(words_text(rng, 40))]
    for ngram in (1, 2, 5):
        shingles = mh.shingle_hashes(texts, ngram=ngram)
        for index, text in enumerate(texts):
            words = tokens(text)
            expected = [reference_base_hash(words[i:i + ngram])
                        for i in range(len(words) - ngram + 1)]
            assert shingles.of(index).tolist() == expected, (ngram, text)


def test_token_counts_and_short_mask_match_the_reference_tokens():
    counts = mh.token_counts(EDGE_TEXTS)
    assert counts.tolist() == [len(tokens(text)) for text in EDGE_TEXTS]
    assert is_short(EDGE_TEXTS).tolist() == [len(tokens(text)) < 5 for text in EDGE_TEXTS]
    assert is_short(["a b c d", "a b c d e"]).tolist() == [True, False]
    assert is_short(["a b"], ngram=2).tolist() == [False]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_permutations_and_signatures_equal_datasketch(scheme):
    reference = MinHash(num_perm=256, seed=42, scheme=scheme)
    a, b = mh.permutations(256, 42, scheme)
    assert np.array_equal(a, reference.permutations[0])
    assert np.array_equal(b, reference.permutations[1])
    rng = random.Random(5)
    texts = EDGE_TEXTS + ["\n".join(words_text(rng, 30)) for _ in range(3)]
    shingles = mh.shingle_hashes(texts)
    signatures = minhash_signatures(texts, scheme=scheme)
    for index in range(len(texts)):
        assert np.array_equal(signatures[index],
                              datasketch_signature(shingles.of(index), scheme)), index


@pytest.mark.parametrize("scheme", SCHEMES)
def test_short_texts_get_the_empty_row(scheme):
    texts = ["", "only four tokens here", "!!! ... ???", "five tokens are enough now"]
    signatures = minhash_signatures(texts, scheme=scheme)
    assert is_short(texts).tolist() == [True, True, True, False]
    assert (signatures[:3] == mh.EMPTY_VALUE).all()
    assert not (signatures[3] == mh.EMPTY_VALUE).all()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_deterministic_and_seeded(scheme):
    rng = random.Random(7)
    texts = ["\n".join(words_text(rng, 20)) for _ in range(4)]
    first = minhash_signatures(texts, seed=42, scheme=scheme)
    assert np.array_equal(first, minhash_signatures(texts, seed=42, scheme=scheme))
    other = minhash_signatures(texts, seed=43, scheme=scheme)
    assert (first != other).any(axis=1).all()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_identical_texts_and_batch_independence(scheme, monkeypatch):
    rng = random.Random(11)
    texts = ["\n".join(words_text(rng, rng.randrange(1, 60))) for _ in range(12)]
    texts.insert(5, texts[2])
    together = minhash_signatures(texts, scheme=scheme)
    assert np.array_equal(together[2], together[5])
    alone = np.array([minhash_signatures([text], scheme=scheme)[0] for text in texts])
    assert np.array_equal(together, alone)
    # Tiny groups and blocks: texts and shingles cross every boundary; same signatures.
    monkeypatch.setattr(mh, "_GROUP_CHARS", 500)
    monkeypatch.setattr(mh._PERMUTATIONS[scheme], "block", 7)
    assert np.array_equal(together, minhash_signatures(texts, scheme=scheme))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_case_and_punctuation_do_not_matter(scheme):
    variants = [
        "def Parse_Header(self, raw): return self.cache[raw].strip()",
        "DEF parse_header SELF RAW RETURN self cache raw STRIP",
        "def parse_header(self,raw):\n    return self.cache[raw].strip()  ",
        "def\tparse_header -- self / raw ;; return self->cache<raw>::strip",
    ]
    signatures = minhash_signatures(variants, scheme=scheme)
    assert (signatures == signatures[0]).all()
    different = minhash_signatures([variants[0].replace("strip", "split")], scheme=scheme)
    assert not np.array_equal(different[0], signatures[0])


@pytest.mark.parametrize("scheme", SCHEMES)
def test_estimates_near_exact_jaccard_for_planted_near_duplicates(scheme):
    rng = random.Random(13)
    originals, copies = [], []
    for _ in range(10):
        lines = words_text(rng, 200)
        changed = list(lines)
        for index in rng.sample(range(len(lines)), len(lines) // 10):
            changed[index] = words_text(rng, 1)[0]
        originals.append("\n".join(lines))
        copies.append("\n".join(changed))
    signatures = minhash_signatures(originals + copies, scheme=scheme)
    for index, (original, copy) in enumerate(zip(originals, copies)):
        exact = jaccard(shingle_set(original), shingle_set(copy))
        assert 0.5 < exact < 0.9
        assert abs(estimate(signatures[index], signatures[index + 10]) - exact) < 0.1


@pytest.mark.parametrize("scheme", SCHEMES)
def test_long_document_in_bounded_memory(scheme):
    rng = random.Random(17)
    text = "\n".join(words_text(rng, 25_000))  # 200,000 tokens, about 1.3 MB
    tracemalloc.start()
    try:
        signature = minhash_signatures([text, "short"], scheme=scheme)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Unchunked, the permutation matrix alone would be 200,000 x 256 x 8 bytes = 410 MB.
    assert peak < 80_000_000
    assert (signature[1] == mh.EMPTY_VALUE).all()
    shingles = mh.shingle_hashes([text]).of(0)
    head = shingles[:20_000]  # datasketch holds its whole matrix: compare on a part
    assert np.array_equal(mh.signatures_of(mh.ShingleHashes(head, np.array([0, len(head)])),
                                           scheme=scheme)[0],
                          datasketch_signature(head, scheme))


def test_legacy_exact_reduction_on_rare_inputs():
    # a = 1 and b close to the prime make (t & p) + (t >> 61) >= p, the case the fast path
    # cannot represent; every value must still be ((a h + b) mod 2^64) mod p, low 32 bits.
    prime = (1 << 61) - 1
    a = np.array([1, 1, 3, (1 << 61) - 2, 0x1234567], dtype=np.uint64)
    b = np.array([prime - 3, prime - 1, prime - 7, prime - 2, 12345], dtype=np.uint64)
    hashes = np.array([0, 1, 2, 3, 6, 7, 8, 0xFFFFFFFF, 0x80000000], dtype=np.uint32)
    permuted = mh._Legacy(a, b)(hashes)
    expected = [[(((int(ak) * int(h) + int(bk)) & U64) % prime) & 0xFFFFFFFF for h in hashes]
                for ak, bk in zip(a, b)]
    assert permuted.tolist() == expected


def test_bad_input_is_a_clear_error():
    with pytest.raises(TypeError, match=r"texts\[1\] is NoneType"):
        minhash_signatures(["fine text here ok", None])
    with pytest.raises(ValueError, match="num_perm"):
        minhash_signatures(["x"], num_perm=0)
    with pytest.raises(ValueError, match="ngram"):
        minhash_signatures(["x"], ngram=0)
    with pytest.raises(ValueError, match="seed"):
        minhash_signatures(["x"], seed=-1)
    with pytest.raises(ValueError, match="scheme"):
        minhash_signatures(["x"], scheme="sha1")


def _locale_file(words: list[str]) -> str:
    """A translation file: the same ASCII keys and markup, messages in one script."""
    return "\n".join(f'msgid "menu_item_{i}"\n'
                     f'msgstr "{words[i % len(words)]} {words[(i + 1) % len(words)]}"'
                     for i in range(40))


KANNADA = ["ಕಡತ", "ತೆರೆ", "ಉಳಿಸು", "ಮುಚ್ಚು", "ಸಂಪಾದಿಸು", "ಹುಡುಕು"]
GUJARATI = ["ફાઇલ", "ખોલો", "સાચવો", "બંધ", "ફેરફાર", "શોધો"]


def test_files_in_two_scripts_with_one_ascii_skeleton_differ_unless_ascii_tokens():
    a, b = _locale_file(KANNADA), _locale_file(GUJARATI)
    assert jaccard(shingle_set(a, 5, "ascii"), shingle_set(b, 5, "ascii")) == 1.0  # BigCode's
    assert jaccard(shingle_set(a), shingle_set(b)) < 0.3
    unicode_rows = minhash_signatures([a, b])
    ascii_rows = minhash_signatures([a, b], tokenizer="ascii")
    assert estimate(*ascii_rows) == 1.0 and estimate(*unicode_rows) < 0.4
    assert tokens("ಕನ್ನಡ ಭಾಷೆ") == ["ಕನ್ನಡ", "ಭಾಷೆ"]  # vowel signs (marks) stay in the word
    assert tokens("Straße ÉCOLE x_1") == ["straße", "école", "x_1"]


def test_ascii_text_tokenises_alike_under_both_tokenizers():
    rng = random.Random(5)
    texts = [t for t in EDGE_TEXTS if t.isascii()] + ["\n".join(words_text(rng, 30))]
    for text in texts:
        assert tokens(text) == tokens(text, "ascii")
    assert (minhash_signatures(texts) == minhash_signatures(texts, tokenizer="ascii")).all()
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        tokens("x", "words")
