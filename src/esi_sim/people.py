"""Issuers (characters and corporations) and contract titles as players write them."""

from __future__ import annotations

import random
from dataclasses import dataclass

_FIRST = (
    "Kara", "Vex", "Tovil", "Aura", "Mira", "Jonah", "Ishani", "Korin", "Sela", "Dax",
    "Rurik", "Noor", "Elin", "Tiber", "Hadrian", "Yuki", "Oren", "Lyra", "Bram", "Kessa",
    "Ander", "Zhen", "Ilse", "Marek", "Solace", "Quill", "Riven", "Talia", "Edda", "Corvin",
)  # fmt: skip
_LAST = (
    "Tivianne", "Okaski", "Haatakan", "Vorn", "Kusinen", "Ardishapur", "Delacroix", "Stormr",
    "Ikonen", "Brightwater", "Sarum", "Kador", "Thukker", "Veldspar", "Oshima", "Vittorio",
    "Barak", "Nakamura", "Holder", "Ravenhall", "Mordu", "Achura", "Lai", "Pekkala",
)  # fmt: skip
_CORP_A = (
    "Deep", "Red", "Silent", "Iron", "Void", "Jita", "Black", "Star", "Null", "Amber",
)  # fmt: skip
_CORP_B = (
    "Haulage", "Industries", "Logistics", "Holdings", "Syndicate", "Trading Co.", "Fleet",
    "Mining", "Works", "Collective",
)  # fmt: skip

# NPC starter corporations where new characters sit (real ids and names).
NPC_CORPS: dict[int, str] = {
    1000044: "School of Applied Knowledge",
    1000045: "Science and Trade Institute",
    1000115: "University of Caille",
}


@dataclass(frozen=True, slots=True)
class People:
    characters: dict[int, str]
    corporations: dict[int, str]
    # character_id -> corporation_id
    membership: dict[int, int]
    character_ids: tuple[int, ...]


def build_people(seed: int, n_characters: int, extra: dict[int, str]) -> People:
    rng = random.Random(seed * 7919 + 17)
    n_corps = max(5, n_characters // 8)
    corps: dict[int, str] = dict(NPC_CORPS)
    corp_ids: list[int] = list(NPC_CORPS)
    used_names: set[str] = set()
    while len(corp_ids) < n_corps + len(NPC_CORPS):
        cid = rng.randint(98_000_000, 98_799_999)
        name = f"{rng.choice(_CORP_A)} {rng.choice(_CORP_B)}"
        if cid in corps:
            continue
        if name in used_names:
            name = f"{name} {rng.randint(2, 999)}"
        used_names.add(name)
        corps[cid] = name
        corp_ids.append(cid)
    chars: dict[int, str] = {}
    membership: dict[int, int] = {}
    char_names: set[str] = set(extra.values())
    while len(chars) < n_characters:
        # Older characters have 9x,xxx,xxx ids, those made since 2016 are 2,11x,xxx,xxx.
        if rng.random() < 0.5:
            char_id = rng.randint(90_000_000, 97_999_999)
        else:
            char_id = rng.randint(2_112_000_000, 2_123_999_999)
        if char_id in chars or char_id in extra:
            continue
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        if name in char_names:
            name = f"{name}{rng.randint(2, 99)}" if rng.random() < 0.5 else f"{name} II"
            if name in char_names:
                continue
        char_names.add(name)
        chars[char_id] = name
        membership[char_id] = rng.choice(corp_ids)
    for char_id, name in extra.items():
        chars[char_id] = name
        membership[char_id] = corp_ids[0]
    return People(chars, corps, membership, tuple(sorted(k for k in chars if k not in extra)))


# Title templates; {ship} is the main hull's name. Titles are capped at 50 characters by
# the game client; the odd ones (markup, unicode, injection-looking) are deliberate.
_SHIP_TITLES = (
    "",
    "",
    "{ship}",
    "{ship}",
    "WTS {ship}",
    "{ship} - cheap",
    "Fitted {ship}, ready to undock",
    "{ship} fit + ammo",
    "<b>{ship}</b> below Jita",
    '<font color="#ff0000">{ship}</font>',
    "{ship} 🚀 fast sale",
    "Продам {ship}",
    "{ship} 売ります",
    "{ship} x several",
    "&lt;url=showinfo:587&gt;{ship}",
    "'; DROP TABLE contracts;-- {ship}",
    "{ship} (read description)",
    "   {ship}   ",
)
_ITEM_TITLES = (
    "",
    "",
    "",
    "stuff",
    "Loot",
    "BPC pack",
    "ME10 TE20",
    "Minerals",
    "Ammo for sale",
    "Moving out sale",
    "<i>free</i> stuff!!",
    "mods",
    "Skins ✨",
    "薬莢",
    "Щиты и дроны",
    "Cheap T2 modules",
    "{name}",
    "{name} x{qty}",
)
_COURIER_TITLES = ("", "", "", "Jita -> {dest}", "Rush", "{dest} run", "Ship haul")


def ship_title(rng: random.Random, ship: str) -> str:
    return rng.choice(_SHIP_TITLES).format(ship=ship)[:50]


def item_title(rng: random.Random, name: str, qty: int) -> str:
    return rng.choice(_ITEM_TITLES).format(name=name, qty=qty)[:50]


def courier_title(rng: random.Random, dest: str) -> str:
    return rng.choice(_COURIER_TITLES).format(dest=dest)[:50]
