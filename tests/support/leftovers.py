"""What Redis still holds of a conversation, and a conversation that has been through everything: for the
retention tests, on fakeredis or a real server."""

from __future__ import annotations

import redis

from tests.support.world import World


async def resolved(world: World, wa_id: str, resolve: bool = True) -> str:
    """A conversation handed over, taken by an agent and resolved (with its packet and the survey); held
    by the agent unless `resolve`."""
    ana = world.available_agent(f"Ana {wa_id}", ["general"], capacity=5)
    conversation = await world.says(wa_id, "quero falar com um atendente")
    assert world.assignments.claim_next(ana).id == conversation.id
    if resolve:
        world.assignments.resolve(ana, conversation.id)
    return conversation.id


def leftovers(client: redis.Redis, conversation_id: str, besides: tuple[str, ...] = ()) -> list[str]:
    """Every key whose name holds the conversation id, or whose members, fields or value do (a client that
    decodes responses). Streams are left out: the capped logs of what happened (desk events, sends).
    `besides`: keys allowed to mention it (e.g. a later conversation's stored packet, filtered on read)."""
    found = []
    for key in sorted(client.scan_iter("*")):
        if key in besides:
            continue
        if conversation_id in key:
            found.append(key)
            continue
        kind = client.type(key)
        values: list[str] = []
        if kind == "zset":
            values = client.zrange(key, 0, -1)
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "hash":
            values = [*client.hkeys(key), *client.hvals(key)]
        elif kind == "string":
            values = [client.get(key) or ""]
        if any(conversation_id in value for value in values):
            found.append(key)
    return found
