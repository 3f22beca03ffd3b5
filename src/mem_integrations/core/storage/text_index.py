"""BM25 over one scope's memories, held in RAM, analysed the way LanceDB's FTS index does.

Why it exists: a LanceDB query costs 2-4 ms before any row is read (plan, per-fragment file
opens, the hop to its runtime), and a search needs two of them. For the scopes searches run
in (one user's memories, hundreds to thousands of rows) scoring in numpy takes a fraction
of a millisecond, so each searched scope's text is indexed here (``scope_index.Snapshot``).

The analysis matches the index this store builds with ``FTS(with_position=False)`` (probed
against LanceDB 0.40, see ``tests/core/test_text_index.py``): the "simple" tokenizer (runs of
letters and digits), tokens of 40 bytes or more dropped, lower case, ASCII folding, the
English Snowball stemmer, then NLTK's English stop words removed *after* stemming (so
"owned" goes, as "own" does, and "does" stays, as "doe"). Scoring is LanceDB's BM25
(k1 1.2, b 0.75, idf ln(1 + (N - n + 0.5) / (n + 0.5))), with statistics from the scope
rather than the whole table: a word's rarity among this user's memories is what ranks them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import snowballstemmer

__all__ = ["STOP_WORDS", "TextIndex", "terms"]

K1 = 1.2
B = 0.75
MAX_TOKEN_BYTES = 40

#: NLTK's English list: the one LanceDB filters with (compared with stemmed tokens).
STOP_WORDS = frozenset(
    "i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself "
    "yourselves he him his himself she she's her hers herself it it's its itself they them "
    "their theirs themselves what which who whom this that that'll these those am is are was "
    "were be been being have has had having do does did doing a an the and but if or because "
    "as until while of at by for with about against between into through during before after "
    "above below to from up down in out on off over under again further then once here there "
    "when where why how all any both each few more most other some such no nor not only own "
    "same so than too very s t can will just don don't should should've now d ll m o re ve y "
    "ain aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven "
    "haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn "
    "shouldn't wasn wasn't weren weren't won won't wouldn wouldn't".split()
)

_TOKEN = re.compile(r"[^\W_]+")
_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def _term(token: str) -> str | None:
    """One raw token as an index term, or None when it is dropped; cached by token."""
    if len(token.encode("utf-8")) >= MAX_TOKEN_BYTES:
        return None
    if token.isascii() and token.isdigit():
        return token  # no Snowball rule touches digits and no stop word has one: skip the stemmer
    word = token.lower()
    if not word.isascii():
        word = "".join(
            c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)
        )
    stem: str = _STEMMER.stemWord(word)
    return None if stem in STOP_WORDS else stem


def terms(text: str) -> list[str]:
    """The index terms of ``text``, in order, repeats kept (they are term frequency)."""
    out = []
    for token in _TOKEN.findall(text):
        term = _term(token)
        if term is not None:
            out.append(term)
    return out


@lru_cache(maxsize=20_000)
def _counts(text: str) -> tuple[tuple[str, ...], tuple[int, ...], int]:
    """A document's distinct terms, their frequencies and its length, cached by text.

    A scope is re-read after every write, and all but the new memories were analysed
    before: this keeps rebuilding its index to assembling arrays.
    """
    counts: dict[str, int] = {}
    words = terms(text)
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return tuple(counts), tuple(counts.values()), len(words)


class TextIndex:
    """An inverted index over a fixed list of texts; immutable once built.

    Postings are stored flat, sorted by term (one array of documents and one of
    frequencies, sliced per term) rather than two arrays per term: a numpy array costs
    ~100 bytes of overhead, and a scope of a thousand memories has a few thousand terms.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        docs: list[int] = []
        freqs: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for doc, text in enumerate(texts):
            words, counts, length = _counts(text)
            lengths[doc] = length
            term_ids.extend(vocab.setdefault(w, len(vocab)) for w in words)
            docs.extend([doc] * len(words))
            freqs.extend(counts)
        self.size = len(texts)
        total = float(lengths.sum())
        avgdl = total / self.size if self.size and total else 1.0
        # BM25's length normalisation per document, computed once.
        self._norm = (K1 * (1.0 - B + B * lengths / avgdl)).astype(np.float32)
        tids = np.asarray(term_ids, dtype=np.int64)
        order = np.argsort(tids, kind="stable")
        self._docs = np.asarray(docs, dtype=np.int64)[order]
        self._tf = np.asarray(freqs, dtype=np.float32)[order]
        self._starts = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(tids, minlength=len(vocab)), out=self._starts[1:])
        self._vocab = vocab

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """BM25 of every document for ``query`` (0 where no query term occurs)."""
        out = np.zeros(self.size, dtype=np.float32)
        for word in terms(query):  # a repeated query word counts again, as in LanceDB
            tid = self._vocab.get(word)
            if tid is None:
                continue
            lo, hi = int(self._starts[tid]), int(self._starts[tid + 1])
            docs, tf = self._docs[lo:hi], self._tf[lo:hi]
            idf = math.log(1.0 + (self.size - (hi - lo) + 0.5) / (hi - lo + 0.5))
            out[docs] += idf * tf * (K1 + 1.0) / (tf + self._norm[docs])
        return out
