"""Every prompt the extraction pipeline sends, in one place.

A prompt has two parts. The *instructions* say what is worth remembering; they are what a
store (``MemoryConfig(prompt=...)``) or a single call (``add(..., prompt=...)``) may replace.
The *contract* says how to answer (the ADD / UPDATE / DELETE / NONE rules, the category list,
the id rules); it is always appended, so a custom prompt cannot break the output format.

Templates use ``{name}`` placeholders filled by :func:`render` with plain string replacement:
user text and JSON examples may contain braces freely, and a placeholder is never re-expanded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date

from ..messages import Message

__all__ = [
    "AGENT_INSTRUCTIONS",
    "DEFAULT_CATEGORIES",
    "EXAMPLE_FACTS",
    "FACTS_CONTRACT",
    "MEMORIES_HEADER",
    "PLAN_CONTRACT",
    "RECONCILE_CONTRACT",
    "RETRY_MESSAGE",
    "USER_INSTRUCTIONS",
    "facts_messages",
    "plan_messages",
    "reconcile_messages",
    "render",
    "render_categories",
    "render_conversation",
    "render_memories",
]

#: The style examples the instructions quote. A weak model may copy one as if the user had said
#: it ("Is vegetarian" from a chat about jazz); the planner drops an extracted fact that repeats
#: an example the conversation does not support (``planning.echoed_example``).
EXAMPLE_FACTS = (
    "Is vegetarian",
    "Has a daughter named Mia",
    "Moved to Berlin in March 2024",
    "Is named Ada",
    "Answers in formal English",
    "Asked to forget all food preferences",
)

#: The categories every store knows; ``custom_categories`` (per store or per call) add to them.
DEFAULT_CATEGORIES: dict[str, str] = {
    "personal_details": "name, age, where they live, languages, personal background",
    "family": "family members, partners, friends and relationships",
    "professional_details": "job, employer, career, skills, education",
    "sports": "sports played or followed, teams, fitness activities",
    "travel": "trips, places visited or planned, travel preferences",
    "food": "food and drink likes, dislikes, diets, allergies",
    "music": "artists, genres, instruments, concerts",
    "health": "health conditions, medication, wellbeing, diet for health reasons",
    "technology": "devices, software, programming languages, tools used",
    "hobbies": "pastimes, crafts, games, collections",
    "fashion": "clothing, style, brands",
    "entertainment": "films, series, books, games, podcasts",
    "milestones": "important life events, achievements, anniversaries, dated plans",
    "user_preferences": "how they like things done, including how the assistant should answer",
    "misc": "anything worth remembering that fits no other category",
}

USER_INSTRUCTIONS = """\
You are the memory manager of a personal assistant. You read a conversation and keep a store \
of durable facts about the user correct and up to date.

Remember what the user says about themselves in their own turns: personal details, family and \
relationships, work and education, plans and dated events, health, likes, dislikes and \
preferences, including how they want the assistant to behave. Use the assistant's turns only \
to understand what the user means (a user's "yes" answers the assistant's question).

Do not remember small talk, questions, general knowledge, the assistant's own statements, or \
anything that only matters for the current conversation.

Write every fact as one short, self-contained sentence without pronouns that need the \
conversation to be understood, in the language the user wrote in, e.g. "Is vegetarian", \
"Has a daughter named Mia", "Moved to Berlin in March 2024". Turn relative dates into \
absolute ones using today's date."""

AGENT_INSTRUCTIONS = """\
You are the memory manager of an AI assistant. You read a conversation and keep a store of \
durable facts about the assistant itself correct and up to date.

Remember what the assistant's turns establish about the assistant: its name, persona, role, \
capabilities, rules it commits to, preferences and opinions it states. Use the user's turns \
only to understand the context; do not store facts about the user.

Write every fact as one short, self-contained sentence without pronouns that need the \
conversation to be understood, e.g. "Is named Ada", "Answers in formal English". Turn \
relative dates into absolute ones using today's date."""

#: Shown above the JSON list of existing memories (one line, ``[{"id": "0", "text": ...}]``).
MEMORIES_HEADER = "Existing memories (JSON):"

_CATEGORY_RULES = """\
Categories: give every ADD and UPDATE one or more categories from this list, and only from it \
(use "misc" when none fits):
{categories}"""

_ACTION_RULES = """\
Decide one action per piece of information:
- ADD: a new fact that no existing memory holds. Give "text" and "categories"; no "id".
- UPDATE: new information refines or changes an existing memory (more detail, a new value). \
Give its "id" and the complete new "text"; the old text is kept in the memory's history.
- DELETE: new information contradicts or retracts an existing memory, or the user asks to \
forget it. "Delete all of my food preferences" deletes every existing memory about food. \
Give its "id".
- NONE: the information is already stored as it is. Give its "id".

Rules:
- Use only ids from the existing memories list, each at most once. Never invent an id.
- Leave out existing memories the new information does not concern.
- Never keep two facts that contradict each other: "I turned vegetarian" after "Loves \
chicken" updates the old memory (or deletes it and adds the new fact).
- A request to forget something is never stored itself.
- Return an empty list when there is nothing to change."""

PLAN_CONTRACT = f"""\
Today's date is {{today}}.

You receive the existing memories that may be related, as a JSON list of objects with "id" \
and "text", followed by the conversation.

{_ACTION_RULES}

{_CATEGORY_RULES}

Answer with one JSON object of this shape and nothing else:
{{"actions": [{{"event": "ADD", "text": "<a new fact>", "categories": ["<category>"]}}, \
{{"event": "DELETE", "id": "<id of an existing memory>"}}]}}"""

FACTS_CONTRACT = """\
Today's date is {today}.

You receive a conversation. List the facts worth remembering. When the user asks to forget \
something, list that request as a fact too, e.g. "Asked to forget all food preferences".

Answer with one JSON object of this shape and nothing else:
{"facts": ["<a fact>", "<another fact>"]}"""

RECONCILE_CONTRACT = f"""\
You keep a memory store consistent. Today's date is {{today}}.

You receive the existing memories that may be related, as a JSON list of objects with "id" \
and "text", followed by newly learned facts as a JSON list.

{_ACTION_RULES}

{_CATEGORY_RULES}

Answer with one JSON object of this shape and nothing else:
{{"actions": [{{"event": "UPDATE", "id": "<id of an existing memory>", "text": "<its new text>", \
"categories": ["<category>"]}}]}}"""

RETRY_MESSAGE = """\
Your previous answer could not be used: {error}
Answer again with exactly one JSON object of the requested shape."""


def render(template: str, **values: str) -> str:
    """Fill ``{name}`` placeholders by plain replacement (braces elsewhere stay as they are)."""
    out = template
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    return out


def render_categories(categories: Mapping[str, str]) -> str:
    """One ``- name: description`` line per category."""
    return "\n".join(f"- {n}: {d}" if d else f"- {n}" for n, d in categories.items())


def render_conversation(messages: Sequence[Message]) -> str:
    """User and assistant turns as ``role: text`` lines (system and tool turns are not facts)."""
    lines = []
    for m in messages:
        if m.role in ("user", "assistant") and m.content.strip():
            who = f"{m.role} ({m.name})" if m.name else m.role
            lines.append(f"{who}: {m.content}")
    return "\n".join(lines)


def render_memories(memories: Sequence[str]) -> str:
    """Render the existing memories with local ids ``"0"``, ``"1"``, ... never stored ids."""
    items = [{"id": str(i), "text": text} for i, text in enumerate(memories)]
    return f"{MEMORIES_HEADER}\n{json.dumps(items, ensure_ascii=False)}"


def _system(instructions: str, contract: str, today: date, categories: Mapping[str, str]) -> str:
    body = render(contract, today=today.isoformat(), categories=render_categories(categories))
    return f"{instructions.strip()}\n\n{body}" if instructions.strip() else body


def plan_messages(
    instructions: str,
    conversation: Sequence[Message],
    memories: Sequence[str],
    *,
    today: date,
    categories: Mapping[str, str],
) -> list[Message]:
    """Build the single-call prompt: extract from the conversation and reconcile at once."""
    user = f"{render_memories(memories)}\n\nConversation:\n{render_conversation(conversation)}"
    return [
        Message("system", _system(instructions, PLAN_CONTRACT, today, categories)),
        Message("user", user),
    ]


def facts_messages(
    instructions: str,
    conversation: Sequence[Message],
    *,
    today: date,
    categories: Mapping[str, str],
) -> list[Message]:
    """First call of the two-step pipeline: extract candidate facts only."""
    return [
        Message("system", _system(instructions, FACTS_CONTRACT, today, categories)),
        Message("user", f"Conversation:\n{render_conversation(conversation)}"),
    ]


def reconcile_messages(
    facts: Sequence[str],
    memories: Sequence[str],
    *,
    today: date,
    categories: Mapping[str, str],
) -> list[Message]:
    """Second call of the two-step pipeline: reconcile extracted facts with the store."""
    new = json.dumps(list(facts), ensure_ascii=False)
    return [
        Message("system", _system("", RECONCILE_CONTRACT, today, categories)),
        Message("user", f"{render_memories(memories)}\n\nNew facts (JSON):\n{new}"),
    ]
