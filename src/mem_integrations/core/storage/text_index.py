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

    A scope re-read after another process's commit, an update or a delete was mostly
    analysed before: this keeps its rebuild to assembling arrays. Own appends never re-read.
    """
    counts: dict[str, int] = {}
    words = terms(text)
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return tuple(counts), tuple(counts.values()), len(words)


#: Postings appended since the last flattening, beyond which they are merged into the flat
#: arrays: at least this many, and at least a quarter of the flat ones, so the merge (numpy
#: only, nothing re-analysed) costs O(1) amortised per appended document.
_TAIL_MIN = 2048
#: RAM per vocabulary term besides the arrays: the string and its dict entry (tracemalloc).
TERM_BYTES = 100
#: RAM per posting still in the tail: two list slots and an int object.
TAIL_POSTING_BYTES = 48


class _Postings:
    """Postings as of one flattening: flat arrays sorted by term, plus a per-term tail.

    Readers take the whole object at once, so they never see half a flattening; the tail
    only ever grows at the end (documents in increasing order), which readers cut by count.
    """

    __slots__ = ("docs", "starts", "tail", "tail_size", "tf")

    def __init__(
        self,
        docs: npt.NDArray[np.int64],
        tf: npt.NDArray[np.float32],
        starts: npt.NDArray[np.int64],
    ) -> None:
        self.docs = docs
        self.tf = tf
        self.starts = starts
        self.tail: dict[int, tuple[list[int], list[int]]] = {}
        self.tail_size = 0

    def of(self, tid: int, n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Documents (< ``n``) containing term ``tid``, ascending, and the term's counts."""
        if tid + 1 < len(self.starts):
            lo, hi = int(self.starts[tid]), int(self.starts[tid + 1])
            docs, tf = self.docs[lo:hi], self.tf[lo:hi]
        else:
            docs, tf = _NO_DOCS, _NO_TF
        more = self.tail.get(tid)
        if more is not None:
            k = len(more[1])  # counts first: a concurrent append extends docs before counts
            docs = np.concatenate([docs, np.asarray(more[0][:k], dtype=np.int64)])
            tf = np.concatenate([tf, np.asarray(more[1][:k], dtype=np.float32)])
        if len(docs) and docs[-1] >= n:
            cut = int(np.searchsorted(docs, n))
            docs, tf = docs[:cut], tf[:cut]
        return docs, tf


_NO_DOCS = np.zeros(0, dtype=np.int64)
_NO_TF = np.zeros(0, dtype=np.float32)


class TextIndex:
    """An inverted index over a list of texts that only grows at the end.

    Built once from a scope's rows, then extended by this process's own appends
    (``extend``) without touching what is indexed already. A search scores a prefix of the
    documents, some possibly dead (``scores(..., n, alive)``), exactly as an index rebuilt
    over the live documents of that prefix would: BM25's N, document frequencies and
    average length are taken over them, per query term, from the postings the query reads.

    Postings are stored flat, sorted by term (one array of documents and one of
    frequencies, sliced per term) rather than two arrays per term: a numpy array costs
    ~100 bytes of overhead, and a scope of a thousand memories has a few thousand terms.
    """

    def __init__(self, texts: Sequence[str] = ()) -> None:
        self._vocab: dict[str, int] = {}
        self._lengths = np.zeros(max(16, len(texts)), dtype=np.float32)
        self.size = 0
        self.total_length = 0.0
        self._postings = _Postings(_NO_DOCS, _NO_TF, np.zeros(1, dtype=np.int64))
        self.extend(texts)

    def extend(self, texts: Sequence[str]) -> None:
        """Index ``texts`` as the next documents; one writer at a time (the caller's lock)."""
        if not texts:
            return
        need = self.size + len(texts)
        if need > len(self._lengths):
            grown = np.zeros(max(need, self.size + self.size // 8, 16), dtype=np.float32)
            grown[: self.size] = self._lengths[: self.size]
            self._lengths = grown
        post = self._postings
        vocab = self._vocab
        for text in texts:
            words, counts, length = _counts(text)
            doc = self.size
            self._lengths[doc] = length
            for word, count in zip(words, counts, strict=True):
                tid = vocab.setdefault(word, len(vocab))
                entry = post.tail.get(tid)
                if entry is None:
                    entry = post.tail[tid] = ([], [])
                entry[0].append(doc)
                entry[1].append(count)
            post.tail_size += len(words)
            self.total_length += length
            self.size = doc + 1
        if post.tail_size >= max(_TAIL_MIN, len(post.docs) // 4):
            self._flatten()

    @property
    def nbytes(self) -> int:
        """RAM held: the arrays by size, the vocabulary and the tail by per-object estimates."""
        post = self._postings
        arrays = post.docs.nbytes + post.tf.nbytes + post.starts.nbytes + self._lengths.nbytes
        return arrays + len(self._vocab) * TERM_BYTES + post.tail_size * TAIL_POSTING_BYTES

    def length(self, doc: int) -> float:
        """Document ``doc``'s length in terms (BM25's document length)."""
        return float(self._lengths[doc])

    def _flatten(self) -> None:
        """Merge the tail into new flat arrays (the old object stays valid for readers)."""
        post = self._postings
        tids = [np.repeat(np.arange(len(post.starts) - 1), np.diff(post.starts))]
        docs, tfs = [post.docs], [post.tf]
        for tid, (d, f) in post.tail.items():
            tids.append(np.full(len(d), tid, dtype=np.int64))
            docs.append(np.asarray(d, dtype=np.int64))
            tfs.append(np.asarray(f, dtype=np.float32))
        all_tids = np.concatenate(tids)
        order = np.argsort(all_tids, kind="stable")  # within a term, documents stay ascending
        starts = np.zeros(len(self._vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(all_tids, minlength=len(self._vocab)), out=starts[1:])
        self._postings = _Postings(np.concatenate(docs)[order], np.concatenate(tfs)[order], starts)

    def scores(
        self,
        query: str,
        n: int | None = None,
        alive: npt.NDArray[np.bool_] | None = None,
        live: int | None = None,
        live_length: float | None = None,
    ) -> npt.NDArray[np.float32]:
        """BM25 of the first ``n`` documents for ``query`` (0 where no query term occurs).

        ``alive`` (length ``n``) marks the documents that count; ``live`` and
        ``live_length`` are their number and total length. Dead ones score 0.
        """
        if n is None:
            n, live, live_length = self.size, self.size, self.total_length
        assert live is not None and live_length is not None
        out = np.zeros(n, dtype=np.float32)
        avgdl = live_length / live if live and live_length else 1.0
        post, lengths = self._postings, self._lengths
        for word in terms(query):  # a repeated query word counts again, as in LanceDB
            tid = self._vocab.get(word)
            if tid is None:
                continue
            docs, tf = post.of(tid, n)
            if alive is not None and len(docs):
                keep = alive[docs]
                docs, tf = docs[keep], tf[keep]
            df = len(docs)
            if df == 0:
                continue
            idf = math.log(1.0 + (live - df + 0.5) / (df + 0.5))
            norm = K1 * (1.0 - B + B * lengths[docs] / avgdl)
            out[docs] += idf * tf * (K1 + 1.0) / (tf + norm)
        return out
