"""The state layer: the only code that knows how things are stored in Redis.

    keys       every key name and TTL
    records    the fields of each record, the Status enum, encode/decode of packed values
    scripts    every Lua script, each declaring its KEYS, loaded once (EVALSHA)
    commands   many commands in one script call, each reply found by its Handle
    snapshot   the window state a batch reads; writer: the write-sets it and the merge pass store
    headlines, stories, window   bulk reads and upkeep of those records

Code outside this package never spells a key, a field letter, a status byte or a packed format.
"""
