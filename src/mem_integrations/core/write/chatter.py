"""Is a chat turn chatter (nothing to remember) or can it carry a fact? A rule, no model.

Without an LLM every user turn used to become a memory, so recall prompts filled with
"What is my dog's name?" and "Thanks!". This rule drops a turn only when *every* sentence in it
is chatter: a question, a greeting or farewell, thanks, an acknowledgement or reaction
("Wow, that's awesome!", "Keep it up!"), or nothing at all. One sentence that is none of these
keeps the whole turn, so "Can I come over? I'm allergic to cats." stays, and so does a plain
third-person note ("Alex likes tennis"), which is how most callers use ``add``.

The word lists come from labelled data (``bench/data/chatter-labels.jsonl``, scored by
``bench/chatter.py``, results in ``bench/results/chatter.md``): leaning towards keeping, since
a dropped fact is lost for good while a kept pleasantry only costs a little noise. Only the
offline default ``add`` applies it; ``infer=False`` stores every turn as given.
"""

from __future__ import annotations

import re

__all__ = ["chatter_reason"]

# Sentences (and clauses set off by a spaced dash) end at . ! ? (runs of them), a line break or
# " - "; the terminator is kept to tell questions apart. Emoticons and emoji alone are "empty".
_SENTENCE = re.compile(r"(?:[^.!?\n\s-]|\s(?!-\s)|-)+[.!?]*|[.!?]+")


# Words that open a sentence without saying anything, each with the kind it signals; they are
# stripped repeatedly, with a vocative name ("Wow, Maria, ..."), before the rest is looked at.
# A sentence that is nothing but openers is chatter of the first opener's kind.
def _alternatives(*words: str) -> re.Pattern[str]:
    """One anchored pattern; longest first, so "sure thing" wins over "sure"."""
    body = "|".join(sorted(words, key=len, reverse=True))
    return re.compile(rf"^(?:{body})\b[\s,!.:;-]*", re.IGNORECASE)


_OPENERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "greeting",
        _alternatives(
            r"hi",
            r"hello",
            r"hey",
            r"heya",
            r"good (?:morning|afternoon|evening|night)",
            r"bye",
            r"goodbye",
            r"see you",
            r"see ya",
            r"take care",
            r"catch you later",
            r"talk (?:to you )?soon",
            r"talk later",
            r"long time no see",
            r"missed you",
            r"nice to (?:meet|see|chat with|talk to) you",
            r"good to (?:see|hear from|chat with|talk to) you",
            r"(?:it's |it was )?(?:great|good|nice|so good) "
            r"(?:talking|chatting|to chat|to talk|catching up|to catch up)(?: (?:to|with) you)?",
            r"(?:just )?wanted to say hi",
            r"have (?:a (?:good|great|nice) (?:one|day|night|time)|fun|a blast)",
        ),
    ),
    (
        "thanks",
        _alternatives(
            r"thanks",
            r"thank you",
            r"thx",
            r"ty",
            r"many thanks",
            r"cheers",
            r"(?:i )?(?:really |truly )?appreciate (?:it|that|this|your \w+|the \w+)",
            r"(?:that |it |this )?(?:really )?means (?:a lot|so much)(?: to me)?",
            r"you're welcome",
            r"you are welcome",
            r"no problem",
            r"no prob",
            r"no worries",
            r"np",
            r"any ?time",
            r"my pleasure",
        ),
    ),
    (
        "acknowledgement",
        _alternatives(
            r"oh",
            r"ah",
            r"aw+",
            r"wow+",
            r"woah",
            r"whoa",
            r"yay",
            r"woohoo",
            r"yeah",
            r"yes",
            r"yep",
            r"yup",
            r"no",
            r"nope",
            r"ok",
            r"okay",
            r"sure",
            r"well",
            r"so",
            r"hmm+",
            r"haha+",
            r"lol",
            r"omg",
            r"cool",
            r"nice",
            r"great",
            r"awesome",
            r"amazing",
            r"congrats",
            r"congratulations",
            r"totally",
            r"definitely",
            r"absolutely",
            r"indeed",
            r"agreed",
            r"right",
            r"true",
            r"exactly",
            r"of course",
            r"sure thing",
            r"for sure",
            r"mmm+",
            r"ooh+",
            r"gosh",
            r"got it",
            r"noted",
            r"i see",
            r"same here",
            r"me too",
            r"makes sense",
            r"fair enough",
            r"good luck",
            r"best of luck",
            r"well done",
            r"good job",
            r"nice job",
            r"great job",
            r"way to go",
            r"go for it",
            r"lucky you",
            r"will do",
            r"you got this",
            r"great idea",
            r"good idea",
        ),
    ),
)
_VOCATIVE = re.compile(r"^[A-Z][a-z]+(?:[,!]\s*|\.?$)")

_ADJ = (
    r"(?:great|awesome|amazing|cool|nice|wonderful|incredible|inspiring|important|beautiful|"
    r"lovely|cute|fun|sweet|tough|rough|sad|crazy|wild|impressive|interesting|exciting|"
    r"fantastic|perfect|special|delicious|gorgeous|adorable|hilarious|funny|priceless|"
    r"so true|true|brilliant|fabulous|stunning|neat|rad|epic|unreal|intense)"
)
_INTENS = r"(?:(?:so|really|very|such|pretty|super|truly|totally|just|definitely|real) )*"
# What remains after the openers: reactions to the other person, encouragement, courtesy.
_REST: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "acknowledgement",
        re.compile(
            r"^(?:(?:that|it|this|they|those|these|(?:the|that|this|your) \w+|sounds|looks)"
            r"(?:'s| is| are| was| were| look| looks| sound| sounds| seem| seems)? "
            + _INTENS
            + r"(?:like (?:fun|a plan|an? \w+(?: \w+)?[.!]*$)|(?:a |an )?"
            + _ADJ
            + r")\b|"
            r"(?:that|it|this|they|you) must(?:'ve| have)?\b|what a\b|how " + _ADJ + r"\b|"
            r"you\b|your\b|you've\b|you're\b|you'd\b|you'll\b|y'all\b|"
            r"keep (?:it up|going|at it|up the|on|me posted|me updated|shining|pushing|"
            r"believing|rocking)|"
            r"i'm (?:so |really )?(?:happy|glad|proud|sorry|excited|thrilled) (?:for|to hear|of) "
            r"you|i'm (?:always )?here (?:for|to \w+) you|i (?:believe in|wish) you|"
            r"(?:so )?(?:glad|happy) (?:to hear|to cheer|to help|you|that you|y'all|it)|"
            r"i'm (?:good|fine|ok|okay|doing (?:well|good|great|fine|ok|okay))\b|"
            r"(?:i'm )?sorry (?:to hear|about|for|that)|can't wait|let me know|lemme know|"
            r"i bet\b|i'm sure (?:you|it|they|she|he)|i hope (?:you|it|that)|hope (?:you|it|that)|"
            r"let's|lets\b|sending (?:you|hugs|love|good|positive)|i love (?:it|that|this|the "
            r"thought|the idea)|love (?:it|that|this)|good (?:for you|idea|point|question|one))",
            re.IGNORECASE,
        ),
    ),
)
_WH = re.compile(r"^(?:what|who|whom|whose|where|when|why|which|how)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9\u00C0-\uFFFF']+")
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine|we|we're|our|us)\b", re.IGNORECASE)


def _kind(sentence: str) -> str | None:
    """The chatter kind of one sentence, or None when it may state something."""
    s = sentence.strip()
    if not _WORD.search(s):
        return "empty"
    if s.endswith("?"):
        return "question"
    first: str | None = None
    while True:  # peel openers and names off the front
        for kind, pattern in _OPENERS:
            m = pattern.match(s)
            if m and m.end():
                first = first or kind
                s = s[m.end() :].strip()
                break
        else:
            m = _VOCATIVE.match(s)
            if not (m and m.end() and first):
                break
            s = s[m.end() :].strip()
    if not _WORD.search(s):
        return first or "empty"
    words = _WORD.findall(s)
    if first and len(words) <= 2 and not _FIRST_PERSON.search(s):
        return first  # "Nice job!", "Good luck on that!": the opener was the point
    if _WH.match(s) and not s.endswith((".", "!")):
        return "question"
    for kind, pattern in _REST:
        if pattern.match(s):
            return kind
    return None


def chatter_reason(text: str) -> str | None:
    """Why ``text`` holds nothing to remember (e.g. ``"question"``), or None to keep it."""
    kinds: list[str] = []
    for sentence in _SENTENCE.findall(text):
        kind = _kind(sentence)
        if kind is None:
            return None
        if kind not in kinds:
            kinds.append(kind)
    return ", ".join(kinds) if kinds else "empty"
